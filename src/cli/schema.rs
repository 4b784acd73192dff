//! `dpc schema [NAME]`: prints a committed JSON Schema to stdout.

use clap::Args;

use super::{Error, ExitStatus, out};
use crate::pipeline::schema::SchemaName;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: `pipeline` (default), `config` (dpc.yaml), `status-event`, `trigger-event`, `refresh-event`, `step-status-event`.
    pub name: Option<String>,
}

pub fn run(args: &SchemaArgs) -> Result<ExitStatus, Error> {
    let name = args.name.as_deref().unwrap_or("pipeline");
    let Some(schema) = SchemaName::parse(name) else {
        let known: Vec<&str> = SchemaName::ALL.iter().map(|s| s.name()).collect();
        return Err(Error::usage(format!("unknown schema `{name}`"))
            .hint(format!("known schemas: {}", known.join(", "))));
    };
    out(&schema.render())?;
    Ok(ExitStatus::Success)
}
