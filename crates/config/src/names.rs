//! Interface names: the one normalisation of tunnel interface names, used by the configuration
//! language and by the control API's filters (`dmvpn_mgmt` re-exports it).

/// Highest tunnel interface number IOS accepts (`interface Tunnel2147483647`).
pub const TUNNEL_NUMBER_MAX: u32 = 2_147_483_647;

/// The canonical name of a tunnel interface: `tunnel1`, `Tunnel 1`, `Tu1`, ` tunnel01 ` →
/// `Tunnel1`. `None` when `name` is not `tunnel` or `tu` (any case) followed by a number
/// from 0 to [`TUNNEL_NUMBER_MAX`] (spaces around and between are ignored).
pub fn normalise_tunnel_name(name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("tunnel")
        .or_else(|| lower.strip_prefix("tu"))?
        .trim_start();
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = rest.parse().ok()?;
    (n <= TUNNEL_NUMBER_MAX).then(|| format!("Tunnel{n}"))
}

/// The canonical form of any interface name: tunnel names as [`normalise_tunnel_name`],
/// every other name trimmed and otherwise unchanged (`eth0`, `GigabitEthernet0/1`).
pub fn normalise_interface_name(name: &str) -> String {
    normalise_tunnel_name(name).unwrap_or_else(|| name.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_names_have_one_spelling() {
        for n in [
            "tunnel0",
            "Tunnel0",
            "TUNNEL 0",
            " tu0 ",
            "Tu00",
            "tunnel  0",
        ] {
            assert_eq!(
                normalise_tunnel_name(n).as_deref(),
                Some("Tunnel0"),
                "{n:?}"
            );
        }
        assert_eq!(normalise_tunnel_name("Tu12").as_deref(), Some("Tunnel12"));
        assert_eq!(
            normalise_tunnel_name("tunnel2147483647").as_deref(),
            Some("Tunnel2147483647")
        );
        for n in [
            "tunnel",
            "tunnel2147483648",
            "tunnelx",
            "tun0",
            "eth0",
            "tunnel-1",
            "",
        ] {
            assert_eq!(normalise_tunnel_name(n), None, "{n:?}");
        }
    }

    #[test]
    fn other_interface_names_are_trimmed_only() {
        assert_eq!(normalise_interface_name(" eth0 "), "eth0");
        assert_eq!(
            normalise_interface_name("GigabitEthernet0/1"),
            "GigabitEthernet0/1"
        );
        assert_eq!(normalise_interface_name("tunnel 7"), "Tunnel7");
    }
}
