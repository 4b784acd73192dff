//! DynamoDB stores for the manager tests: a moto server, a multi-thread tokio runtime (the
//! store blocks in place on it) and a fresh table, created as the `dpc-central` stack defines
//! it, per store.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use dpc::manager::dynamo::{DynamoStore, create_table};

use super::moto::Moto;

pub struct Dynamo {
    pub moto: Moto,
    pub runtime: tokio::runtime::Runtime,
    pub client: aws_sdk_dynamodb::Client,
    tables: AtomicUsize,
}

impl Dynamo {
    pub fn start() -> Dynamo {
        let moto = Moto::start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let client = aws_sdk_dynamodb::Client::new(&runtime.block_on(moto.sdk()));
        Dynamo {
            moto,
            runtime,
            client,
            tables: AtomicUsize::new(0),
        }
    }

    /// A new, empty table.
    pub fn table(&self) -> String {
        let name = format!("dpc-test-{}", self.tables.fetch_add(1, Ordering::Relaxed));
        self.runtime
            .block_on(create_table(&self.client, &name))
            .unwrap_or_else(|e| panic!("{e}"));
        name
    }

    /// A store on a new, empty table.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.client.clone(), self.table())
    }

    /// Makes the runtime current on this thread, so stores can be used from synchronous code.
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime.enter()
    }
}
