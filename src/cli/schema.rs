//! `dpc schema [NAME]`: prints a committed JSON Schema to stdout.

use clap::Args;

use super::exit;
use crate::schema::SchemaName;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `pipeline` (default), `config` (dpc.yaml), `status-event`, `trigger-event`, `refresh-event`.
    pub name: Option<String>,
}

pub fn run(args: &SchemaArgs) -> u8 {
    let name = args.name.as_deref().unwrap_or("pipeline");
    match SchemaName::parse(name) {
        Some(schema) => {
            print!("{}", schema.render());
            exit::SUCCESS
        }
        None => {
            let known: Vec<&str> = SchemaName::ALL.iter().map(|s| s.name()).collect();
            eprintln!(
                "error: unknown schema `{name}`; known: {}",
                known.join(", ")
            );
            exit::ERROR
        }
    }
}
