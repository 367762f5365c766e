//! Keeps the kernel's own GRE handler quiet in a namespace where our userspace data plane
//! owns GRE.
//!
//! Raw IPPROTO_GRE sockets get a copy of every GRE packet, but when the `ip_gre` module is
//! loaded the kernel also hands the packet to `ip_gre`. With no kernel tunnel matching (the
//! fallback `gre0` is down, as it must be so it does not swallow traffic), `ip_gre` answers
//! every GRE packet with ICMP port-unreachable. Peers with kernel GRE ignore those, but they
//! are noise on the wire and count against ICMP rate limits. We install one nftables rule in
//! the namespace that drops exactly those ICMP messages: destination-unreachable /
//! port-unreachable whose quoted IP header says protocol 47 (the protocol byte sits 17 bytes
//! into the ICMP message: 8 bytes of ICMP header + offset 9 of the quoted IP header).
//!
//! The rule set is idempotent (table `ip dmvpn`, chain `gre_icmp`, flushed and refilled), so
//! several tunnels or a restarted daemon leave exactly one rule. Failure (no `nft` binary, no
//! nftables in the kernel) is logged and otherwise ignored: it only costs the noise.

use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

/// The nftables name of the table the data plane owns.
pub const NFT_TABLE: &str = "dmvpn";

const RULES: &str = "add table ip dmvpn
add chain ip dmvpn gre_icmp { type filter hook output priority 0; policy accept; }
flush chain ip dmvpn gre_icmp
add rule ip dmvpn gre_icmp icmp type destination-unreachable icmp code port-unreachable @th,136,8 47 counter drop comment \"kernel ip_gre refusing GRE that userspace handles\"
";

/// Installs the rule in the current network namespace (see the module doc). Returns whether
/// it was installed.
pub async fn suppress_port_unreachable() -> bool {
    let child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot run nft: the kernel's ip_gre, if loaded, will answer GRE with ICMP port-unreachable");
            return false;
        }
    };
    if let Some(mut stdin) = child.stdin.take()
        && let Err(e) = stdin.write_all(RULES.as_bytes()).await
    {
        tracing::warn!(error = %e, "cannot write the nftables rules");
    }
    match child.wait_with_output().await {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            tracing::warn!(
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "nft refused the GRE ICMP rule: the kernel's ip_gre, if loaded, will answer GRE with ICMP port-unreachable"
            );
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "nft did not finish");
            false
        }
    }
}
