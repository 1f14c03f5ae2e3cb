//! `statelint serve`: the validating admission webhook (not implemented yet).

/// Options of `statelint serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub addr: String,
}

pub fn run(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("statelint serve is not implemented yet")
}
