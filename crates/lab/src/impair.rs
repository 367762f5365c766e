//! Underlay impairment without netem: random loss on the internet bridge, with an
//! nftables `numgen random` rule in the bridge family (every frame between two routers
//! crosses the bridge once, so each is dropped with the given probability).

use crate::LabError;
use crate::topology::Lab;

/// The nftables table the impairment lives in (bridge family, internet namespace).
const TABLE: &str = "dmvpn_lab_impair";

impl Lab {
    /// Drops `percent` % of the frames crossing the internet bridge, at random; 0 removes
    /// the impairment.
    pub fn set_underlay_loss(&self, percent: u8) -> Result<(), LabError> {
        let inet = self.inet_ns();
        // Flushing a table that does not exist fails: create it first, then replace it.
        let mut rules = format!("table bridge {TABLE} {{}}\ndelete table bridge {TABLE}\n");
        if percent > 0 {
            rules.push_str(&format!(
                "table bridge {TABLE} {{\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  numgen random mod 100 < {} counter drop\n }}\n}}\n",
                percent.min(100)
            ));
        }
        crate::topology::nft_ns(&inet, &rules)
    }

    /// Frames the impairment has dropped so far.
    pub fn underlay_drops(&self) -> u64 {
        let out = crate::exec::ns_run(&self.inet_ns(), "nft", &["list", "table", "bridge", TABLE])
            .unwrap_or_default();
        out.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}
