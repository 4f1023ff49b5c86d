//! Data: records registered by hash (HDS_i) and commitment hashStruct(TD_i), updated and
//! deleted by their owners; listings by owner and data type from `RecordRegistered` logs.

use crate::{ContractClient, Logged, Result, to_data_record};
use alloy_primitives::{Address, B256};
use medshare_contracts::{Contract, Data};
use medshare_crypto::eip712::{Record, record_commitment};
use medshare_ledger::TransactionReceipt;

impl ContractClient {
    /// Registers a batch of the caller's records of one data type by hash: each record's
    /// ciphertext hash and its commitment hashStruct(TD_i). The records themselves (with the
    /// owner's signatures US_i) go to off-chain storage with the ciphertexts.
    pub async fn register_records(
        &self,
        data_type: B256,
        records: &[Record],
    ) -> Result<TransactionReceipt> {
        self.send(
            Contract::Data,
            Self::register_records_call(data_type, records),
        )
        .await
    }

    /// The `registerRecords` call for a batch, for [`ContractClient::send_many`].
    pub fn register_records_call(data_type: B256, records: &[Record]) -> Data::registerRecordsCall {
        Data::registerRecordsCall {
            dataType: data_type,
            ciphertextHashes: records.iter().map(|r| r.ciphertextHash).collect(),
            commitments: records.iter().map(record_commitment).collect(),
        }
    }

    /// Replaces a live record of the caller by a new version (the owner only; the new version
    /// keeps the data type).
    pub async fn update_record(&self, old: &Record, new: &Record) -> Result<TransactionReceipt> {
        let call = Data::updateRecordCall {
            oldRecord: to_data_record(old),
            newCiphertextHash: new.ciphertextHash,
            newCommitment: record_commitment(new),
        };
        self.send(Contract::Data, call).await
    }

    /// Deletes a live record (the owner only).
    pub async fn delete_record(&self, record: &Record) -> Result<TransactionReceipt> {
        let call = Data::deleteRecordCall {
            rec: to_data_record(record),
        };
        self.send(Contract::Data, call).await
    }

    /// The commitment hashStruct(TD_i) stored for a ciphertext hash (zero if none or deleted).
    pub async fn commitment_of(&self, ciphertext_hash: B256) -> Result<B256> {
        self.view(
            Contract::Data,
            Data::commitmentOfCall {
                ciphertextHash: ciphertext_hash,
            },
        )
        .await
    }

    /// True if the record with this ciphertext hash was deleted.
    pub async fn is_deleted(&self, ciphertext_hash: B256) -> Result<bool> {
        self.view(
            Contract::Data,
            Data::isDeletedCall {
                ciphertextHash: ciphertext_hash,
            },
        )
        .await
    }

    /// True if `record` is live in Data exactly as given.
    pub async fn verify_record(&self, record: &Record) -> Result<bool> {
        let call = Data::verifyRecordCall {
            rec: to_data_record(record),
        };
        self.view(Contract::Data, call).await
    }

    /// Every record registered by `owner` (including later updated or deleted versions; check
    /// [`ContractClient::verify_record`]).
    pub async fn records_of_owner(
        &self,
        owner: Address,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic1(owner.into_word());
        self.events(Contract::Data, filter).await
    }

    /// Every record registered with data type `data_type`.
    pub async fn records_of_type(
        &self,
        data_type: B256,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic2(data_type);
        self.events(Contract::Data, filter).await
    }

    /// Every record `owner` registered with data type `data_type` (including later updated or
    /// deleted versions).
    pub async fn records_of_owner_and_type(
        &self,
        owner: Address,
        data_type: B256,
    ) -> Result<Vec<Logged<Data::RecordRegistered>>> {
        let filter = self
            .filter::<Data::RecordRegistered>(Contract::Data)
            .topic1(owner.into_word())
            .topic2(data_type);
        self.events(Contract::Data, filter).await
    }
}
