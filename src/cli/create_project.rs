//! `dpc create-project`: scaffolds a new project folder from the templates.

use std::path::PathBuf;

use clap::Args;

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, outln};
use crate::scaffold::{self, Template};

#[derive(Debug, Args)]
pub struct CreateProjectArgs {
    /// The pipeline name (lowercase letters, digits and hyphens).
    #[arg(short = 'n', long)]
    pub name: String,
    /// What the first step runs.
    #[arg(long, value_enum, default_value_t = Template::Shell)]
    pub template: Template,
    /// Folder to create (default: ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: &CreateProjectArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let files = scaffold::create(&dir, &args.name, args.template).map_err(|e| match e {
        scaffold::ScaffoldError::InvalidName(_) | scaffold::ScaffoldError::Exists(_) => {
            Error::failed(e.to_string())
        }
        _ => Error::usage(e.to_string()),
    })?;
    if global.output == OutputFormat::Json {
        let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        outln(
            &serde_json::json!({"created": dir.display().to_string(), "files": list}).to_string(),
        )?;
    } else if !global.quiet {
        eprintln!(
            "created {} ({} files); next: dpc validate {}",
            dir.display(),
            files.len(),
            dir.display()
        );
    }
    Ok(ExitStatus::Success)
}
