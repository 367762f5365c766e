//! Test harness for data-plane tests in network namespaces: namespace and node guards that
//! clean up even when a test panics, command helpers, a GRE sniffer and polling helpers.
#![allow(dead_code)]

use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dmvpn_dataplane::{Event, PassThrough, Tunnel, TunnelConfig, TunnelHandle};
use nix::sched::CloneFlags;

/// Generous deadline for anything we wait for.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Returns false (and prints why) when the test cannot run here: not root or no `ip`.
pub fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        if std::env::var_os("DMVPN_REQUIRE_ROOT").is_some() {
            panic!("DMVPN_REQUIRE_ROOT is set but the test is not running as root");
        }
        eprintln!("SKIP: network-namespace tests need root");
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("SKIP: the `ip` command (iproute2) is missing");
        return false;
    }
    true
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace deleted on drop.
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new(tag: &str) -> NetNs {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("dpt-{tag}-{}-{n}", std::process::id());
        run(&["ip", "netns", "add", &name]);
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip ARGS` inside the namespace and asserts success.
    pub fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", &self.name, "ip"];
        full.extend_from_slice(args);
        run(&full);
    }

    /// Runs a command inside the namespace; returns its output without asserting.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        Command::new("ip")
            .args(&full)
            .output()
            .expect("spawn ip netns exec")
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) {
        let out = self.exec(&["sysctl", "-qw", &format!("{key}={value}")]);
        assert!(out.status.success(), "sysctl {key}: {out:?}");
    }

    /// Runs `f` on a thread inside the namespace and returns its result.
    pub fn run_in<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
        .join()
        .expect("thread in namespace panicked")
    }

    /// Spawns `f` on a thread inside the namespace.
    pub fn spawn_in<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn enter(path: &str) {
    let f = File::open(path).expect("open netns");
    nix::sched::setns(f, CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Runs a command and asserts success.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Joins `a` and `b` with a veth pair, addresses given as "A.B.C.D/len".
pub fn veth(a: &NetNs, a_if: &str, a_addr: &str, b: &NetNs, b_if: &str, b_addr: &str) {
    run(&[
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]);
    a.ip(&["addr", "add", a_addr, "dev", a_if]);
    b.ip(&["addr", "add", b_addr, "dev", b_if]);
    a.ip(&["link", "set", a_if, "up"]);
    b.ip(&["link", "set", b_if, "up"]);
}

/// A data-plane instance running on its own thread inside a namespace. Dropping it shuts
/// the tunnel down and joins the thread.
pub struct Node {
    pub handle: TunnelHandle,
    pub events: mpsc::Receiver<Event>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Node {
    pub fn start(ns: &NetNs, config: TunnelConfig) -> Node {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (event_tx, event_rx) = mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = ns.spawn_in(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (tunnel, mut events) = match Tunnel::start(config, Arc::new(PassThrough)).await
                {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(tunnel.handle()));
                loop {
                    tokio::select! {
                        ev = events.recv() => match ev {
                            Some(ev) => { let _ = event_tx.send(ev); }
                            None => break,
                        },
                        _ = &mut stop_rx => break,
                    }
                }
                tunnel.shutdown().await;
            });
        });
        let handle = handle_rx
            .recv_timeout(DEADLINE)
            .expect("tunnel start timed out")
            .unwrap_or_else(|e| panic!("tunnel start failed: {e}"));
        Node {
            handle,
            events: event_rx,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Waits for an event matching `pred`, skipping others.
    pub fn wait_event(&self, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) => continue,
                Err(_) => panic!("no event: {what}"),
            }
        }
    }

    /// Stops the tunnel and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Polls `cond` until it holds or the deadline passes.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A raw GRE socket opened inside a namespace that collects copies of GRE packets
/// (outer IP header included) until stopped.
pub struct Sniffer {
    packets: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sniffer {
    pub fn start(ns: &NetNs) -> Sniffer {
        let packets = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (p, s) = (packets.clone(), stop.clone());
        let thread = ns.spawn_in(move || {
            use socket2::{Domain, Protocol, Socket, Type};
            let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47))).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 65536];
            while !s.load(Ordering::SeqCst) {
                use std::io::Read;
                if let Ok(n) = (&sock).read(&mut buf) {
                    p.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        ready_rx.recv_timeout(DEADLINE).expect("sniffer ready");
        Sniffer {
            packets,
            stop,
            thread: Some(thread),
        }
    }

    /// The packets captured so far.
    pub fn packets(&self) -> Vec<Vec<u8>> {
        self.packets.lock().unwrap().clone()
    }

    /// Waits until a captured packet satisfies `pred`; returns it.
    pub fn wait_for(&self, what: &str, mut pred: impl FnMut(&Gre) -> bool) -> Gre {
        let mut found = None;
        wait_until(what, || {
            found = self
                .packets()
                .iter()
                .filter_map(|p| Gre::parse(p))
                .find(|g| pred(g));
            found.is_some()
        });
        found.unwrap()
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A captured GRE packet, decoded for assertions.
#[derive(Debug, Clone)]
pub struct Gre {
    pub outer_tos: u8,
    pub outer_src: Ipv4Addr,
    pub outer_dst: Ipv4Addr,
    pub key: Option<u32>,
    pub protocol: u16,
    pub payload: Vec<u8>,
}

impl Gre {
    pub fn parse(p: &[u8]) -> Option<Gre> {
        let hl = usize::from(p.first()? & 0x0f) * 4;
        let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
        let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
        let g = p.get(hl..)?;
        let flags = u16::from_be_bytes([g[0], g[1]]);
        let protocol = u16::from_be_bytes([g[2], g[3]]);
        let mut off = 4;
        if flags & 0x8000 != 0 {
            off += 4;
        }
        let key = if flags & 0x2000 != 0 {
            let k = u32::from_be_bytes(g.get(off..off + 4)?.try_into().ok()?);
            off += 4;
            Some(k)
        } else {
            None
        };
        if flags & 0x1000 != 0 {
            off += 4;
        }
        Some(Gre {
            outer_tos: p[1],
            outer_src: src,
            outer_dst: dst,
            key,
            protocol,
            payload: g.get(off..)?.to_vec(),
        })
    }

    /// Inner IPv4 destination, when the payload is IPv4.
    pub fn inner_dst(&self) -> Option<Ipv4Addr> {
        let p = &self.payload;
        Some(Ipv4Addr::new(*p.get(16)?, p[17], p[18], p[19]))
    }
}

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Pings from a namespace; returns the output.
pub fn ping(ns: &NetNs, args: &[&str]) -> Output {
    let mut full = vec!["ping", "-n"];
    full.extend_from_slice(args);
    ns.exec(&full)
}
