//! The words of the crypto commands: `show crypto ikev2 sa [detail]`,
//! `show crypto ipsec sa [peer ADDR]`, `show crypto session [detail]`,
//! `clear crypto session [remote ADDR]`, `clear crypto ikev2 sa [remote ADDR]` and
//! `debug crypto ikev2`.

use std::net::IpAddr;

use anyhow::{anyhow, bail};
use dmvpn_mgmt::{
    ClearCryptoSession, DebugCommand, Request, ShowCryptoIkev2Sa, ShowCryptoIpsecSa,
    ShowCryptoSession,
};

fn lower(words: &[String]) -> Vec<String> {
    words.iter().map(|w| w.to_ascii_lowercase()).collect()
}

fn addr(command: &str, w: Option<&String>) -> anyhow::Result<IpAddr> {
    let w = w.ok_or_else(|| anyhow!("`{command}`: an address is expected at the end"))?;
    w.parse()
        .map_err(|_| anyhow!("`{command}`: `{w}` is not an IP address"))
}

/// `show crypto …`.
pub fn show(words: &[String]) -> anyhow::Result<Request> {
    let w = lower(words);
    let s: Vec<&str> = w.iter().map(String::as_str).collect();
    Ok(match s.as_slice() {
        ["ikev2", "sa"] => Request::ShowCryptoIkev2Sa(ShowCryptoIkev2Sa { detail: false }),
        ["ikev2", "sa", "detail"] => Request::ShowCryptoIkev2Sa(ShowCryptoIkev2Sa { detail: true }),
        ["ipsec", "sa"] => Request::ShowCryptoIpsecSa(ShowCryptoIpsecSa { peer: None }),
        ["ipsec", "sa", "peer", _] => Request::ShowCryptoIpsecSa(ShowCryptoIpsecSa {
            peer: Some(addr("show crypto ipsec sa peer", words.get(3))?),
        }),
        ["session"] => Request::ShowCryptoSession(ShowCryptoSession { detail: false }),
        ["session", "detail"] => Request::ShowCryptoSession(ShowCryptoSession { detail: true }),
        _ => bail!(
            "`show crypto {}`: expected `ikev2 sa [detail]`, `ipsec sa [peer ADDR]` or `session [detail]`",
            words.join(" ")
        ),
    })
}

/// `clear crypto …`.
pub fn clear(words: &[String]) -> anyhow::Result<Request> {
    let w = lower(words);
    let s: Vec<&str> = w.iter().map(String::as_str).collect();
    Ok(match s.as_slice() {
        ["session"] => Request::ClearCryptoSession(ClearCryptoSession { remote: None }),
        ["session", "remote", _] => Request::ClearCryptoSession(ClearCryptoSession {
            remote: Some(addr("clear crypto session remote", words.get(2))?),
        }),
        ["ikev2", "sa"] => Request::ClearCryptoIkev2Sa(ClearCryptoSession { remote: None }),
        ["ikev2", "sa", "remote", _] => Request::ClearCryptoIkev2Sa(ClearCryptoSession {
            remote: Some(addr("clear crypto ikev2 sa remote", words.get(3))?),
        }),
        _ => bail!(
            "`clear crypto {}`: expected `session [remote ADDR]` or `ikev2 sa [remote ADDR]`",
            words.join(" ")
        ),
    })
}

/// `debug crypto …` / `no debug crypto …`.
pub fn debug(words: &[String]) -> anyhow::Result<DebugCommand> {
    let w = lower(words);
    let s: Vec<&str> = w.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["ikev2"] => Ok(DebugCommand::CryptoIkev2),
        _ => bail!("`debug crypto {}`: expected `ikev2`", words.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn every_crypto_command_parses() {
        assert_eq!(
            show(&w("ikev2 sa detail")).unwrap(),
            Request::ShowCryptoIkev2Sa(ShowCryptoIkev2Sa { detail: true })
        );
        assert_eq!(
            show(&w("IPsec SA peer 192.0.2.1")).unwrap(),
            Request::ShowCryptoIpsecSa(ShowCryptoIpsecSa {
                peer: Some("192.0.2.1".parse().unwrap())
            })
        );
        assert_eq!(
            show(&w("session")).unwrap(),
            Request::ShowCryptoSession(ShowCryptoSession { detail: false })
        );
        assert_eq!(
            clear(&w("session remote 192.0.2.9")).unwrap(),
            Request::ClearCryptoSession(ClearCryptoSession {
                remote: Some("192.0.2.9".parse().unwrap())
            })
        );
        assert_eq!(
            clear(&w("ikev2 sa")).unwrap(),
            Request::ClearCryptoIkev2Sa(ClearCryptoSession { remote: None })
        );
        assert_eq!(debug(&w("ikev2")).unwrap(), DebugCommand::CryptoIkev2);
    }

    #[test]
    fn malformed_crypto_commands_say_what_is_expected() {
        assert!(
            show(&w("isakmp sa"))
                .unwrap_err()
                .to_string()
                .contains("ikev2 sa")
        );
        assert!(
            show(&w("ipsec sa peer nope"))
                .unwrap_err()
                .to_string()
                .contains("not an IP")
        );
        assert!(clear(&w("session 1.2.3.4")).is_err());
        assert!(debug(&w("isakmp")).is_err());
    }
}
