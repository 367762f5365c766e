//! `dmvpn config`: check configuration files and import configurations from
//! other DMVPN implementations.
//!
//! * `dmvpn config check FILE...` parses and validates each file, prints
//!   every message as `FILE:LINE:COLUMN: error|warning: …` on stderr and
//!   exits 0 when all files are valid, 1 otherwise (2 when a file cannot be
//!   read).
//! * `dmvpn config import --from vyos|aos|ios FILE` prints the configuration
//!   in our dialect (normalised) on stdout and the conversion messages on
//!   stderr; exit 1 when the converted configuration has errors. `FILE` may
//!   be `-` for standard input.
//! * `dmvpn config show [--socket PATH]` prints the running configuration of
//!   a daemon, normalised (the same text as `dmvpn show running-config`).
//!
//! The language and the conversions are documented in `docs/config.md`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use dmvpn_config::import::{Dialect, import};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check configuration files: exit 0 when all are valid, 1 with messages otherwise.
    Check(CheckArgs),
    /// Convert a VyOS or Adtran AOS configuration (or normalise an IOS one) into the dmvpn dialect.
    Import(ImportArgs),
    /// Print the running configuration of a daemon (normalised; it parses back to the same model).
    Show(ShowArgs),
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Print the daemon's answer as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Configuration files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print the normalised configuration of each valid file on stdout.
    #[arg(long)]
    pub print: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum From {
    /// VyOS `set interfaces tunnel … / set protocols nhrp … / set vpn ipsec …`.
    Vyos,
    /// Adtran AOS.
    Aos,
    /// Cisco IOS (normalise).
    Ios,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Dialect of the input.
    #[arg(long, value_enum)]
    pub from: From,
    /// Input file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(cmd: Command, socket: &Path) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Check(args) => check(args),
        Command::Import(args) => import_cmd(args),
        Command::Show(args) => crate::ctl::show(
            crate::ctl::Show::RunningConfig(crate::ctl::Words {
                words: Vec::new(),
                json: args.json,
            }),
            socket,
        ),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for path in &args.files {
        let text = read(path)?;
        let name = path.display().to_string();
        let parsed = dmvpn_config::parse(&text);
        eprint!("{}", parsed.render(&name));
        if parsed.has_errors() {
            ok = false;
            let n = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("{name}: {n} error{}", if n == 1 { "" } else { "s" });
        } else if args.print {
            print!("{}", parsed.config.to_ios_text());
        } else {
            println!("{name}: ok");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn import_cmd(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let text = read(&args.file)?;
    let dialect = match args.from {
        From::Vyos => Dialect::Vyos,
        From::Aos => Dialect::Aos,
        From::Ios => Dialect::Ios,
    };
    let imported = import(dialect, &text);
    let name = args.file.display().to_string();
    for d in &imported.diagnostics {
        eprintln!("{}", d.render(&name));
    }
    print!("{}", imported.text());
    Ok(if imported.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
