//! `dpc create-project`: scaffolds a new project folder from the templates.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, OutputFormat, exit};
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

pub fn run(args: &CreateProjectArgs, global: &GlobalArgs) -> u8 {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    match scaffold::create(&dir, &args.name, args.template) {
        Ok(files) => {
            if global.output == OutputFormat::Json {
                let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                println!(
                    "{}",
                    serde_json::json!({"created": dir.display().to_string(), "files": list})
                );
            } else if !global.quiet {
                eprintln!(
                    "created {} ({} files); next: dpc validate {}",
                    dir.display(),
                    files.len(),
                    dir.display()
                );
            }
            exit::SUCCESS
        }
        Err(e @ (scaffold::ScaffoldError::InvalidName(_) | scaffold::ScaffoldError::Exists(_))) => {
            eprintln!("error: {e}");
            exit::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::ERROR
        }
    }
}
