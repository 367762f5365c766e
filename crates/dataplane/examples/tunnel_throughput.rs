//! Measures TCP throughput through the userspace GRE data plane between two network
//! namespaces joined by a veth pair (needs root; build with `--release`):
//!
//! ```text
//! cargo run --release -p dmvpn-dataplane --example tunnel_throughput [MIB]
//! ```
//!
//! Prints the transfer rate, and the same transfer over the bare veth for comparison.
//! The namespaces are removed at the end, also on failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmvpn_dataplane::{PassThrough, Tunnel, TunnelConfig, TunnelSource};

struct Ns(String);

impl Ns {
    fn new(name: &str) -> Ns {
        let name = format!("{name}-{}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Ns(name)
    }

    fn enter(&self) {
        let f = std::fs::File::open(format!("/run/netns/{}", self.0)).expect("open netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("spawn");
    assert!(st.success(), "{args:?}");
}

/// Runs a tunnel in namespace `ns` on its own thread until the process ends.
fn node(ns: &Ns, addr: &str, src: &str, peer_overlay: &str, peer_nbma: &str) {
    let path = format!("/run/netns/{}", ns.0);
    let (addr, src, po, pn) = (
        addr.parse().unwrap(),
        src.parse().unwrap(),
        peer_overlay.parse().unwrap(),
        peer_nbma.parse().unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let f = std::fs::File::open(path).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut cfg = TunnelConfig::new("Tunnel0", addr, 24, TunnelSource::Address(src));
            cfg.key = Some(1);
            let (t, mut ev) = Tunnel::start(cfg, Arc::new(PassThrough)).await.unwrap();
            t.handle().tables().set_mapping(po, pn);
            tx.send(()).unwrap();
            while ev.recv().await.is_some() {}
            drop(t);
        });
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("tunnel up");
}

fn transfer(a: &Ns, b: &Ns, to: &str, bytes: usize) -> f64 {
    let to = to.to_string();
    let listen = {
        let to = to.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let b_path = b.0.clone();
        let h = std::thread::spawn(move || {
            Ns(b_path.clone()).enter_only();
            let l = TcpListener::bind((to.as_str(), 5201)).unwrap();
            tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0;
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
            }
            total
        });
        rx.recv().unwrap();
        h
    };
    let a_path = a.0.clone();
    let secs = std::thread::spawn(move || {
        Ns(a_path).enter_only();
        let mut s = TcpStream::connect((to.as_str(), 5201)).unwrap();
        let chunk = vec![0x5au8; 1 << 16];
        let start = Instant::now();
        let mut sent = 0;
        while sent < bytes {
            s.write_all(&chunk).unwrap();
            sent += chunk.len();
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut sink = [0u8; 1];
        let _ = s.read(&mut sink);
        start.elapsed().as_secs_f64()
    })
    .join()
    .unwrap();
    let got = listen.join().unwrap();
    (got as f64 * 8.0) / secs / 1e6
}

impl Ns {
    /// Enters the namespace without taking ownership of its deletion.
    fn enter_only(self) {
        self.enter();
        std::mem::forget(self);
    }
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("throughput: needs root (it creates network namespaces)");
        std::process::exit(2);
    }
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let a = Ns::new("dptp-a");
    let b = Ns::new("dptp-b");
    sh(&[
        "ip", "link", "add", "tpA", "netns", &a.0, "type", "veth", "peer", "name", "tpB", "netns",
        &b.0,
    ]);
    sh(&[
        "ip",
        "-n",
        &a.0,
        "addr",
        "add",
        "192.0.2.1/24",
        "dev",
        "tpA",
    ]);
    sh(&[
        "ip",
        "-n",
        &b.0,
        "addr",
        "add",
        "192.0.2.2/24",
        "dev",
        "tpB",
    ]);
    sh(&["ip", "-n", &a.0, "link", "set", "tpA", "up"]);
    sh(&["ip", "-n", &b.0, "link", "set", "tpB", "up"]);
    node(&a, "10.0.0.1", "192.0.2.1", "10.0.0.2", "192.0.2.2");
    node(&b, "10.0.0.2", "192.0.2.2", "10.0.0.1", "192.0.2.1");
    let bytes = mib << 20;
    let veth = transfer(&a, &b, "192.0.2.2", bytes);
    let gre = transfer(&a, &b, "10.0.0.2", bytes);
    println!(
        "{mib} MiB TCP, one stream: bare veth {veth:.0} Mbit/s, userspace GRE tunnel {gre:.0} Mbit/s"
    );
}
