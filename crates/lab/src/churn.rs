//! Uplink churn, as PPPoE and LTE links do it to a spoke: the tunnel source interface
//! (`Ethernet0`) goes down and up, is deleted and created again, or changes its address. Each
//! helper leaves the node as the lab built it (address, default route), so the tests can
//! repeat them; the daemon is never told.

use std::net::Ipv4Addr;

use crate::LabError;
use crate::exec::ip_ns;
use crate::topology::Lab;

impl Lab {
    /// Takes node `index`'s uplink down and up again. The kernel drops the routes through a
    /// link that goes down; the default route is put back.
    pub fn flap_uplink(&self, index: usize) -> Result<(), LabError> {
        let node = self.node(index)?;
        if node.private_nbma.is_some() {
            return Err(LabError::Spec(
                "uplink churn is not supported behind the lab's NAT".into(),
            ));
        }
        ip_ns(&node.ns, &["link", "set", "Ethernet0", "down"])?;
        ip_ns(&node.ns, &["link", "set", "Ethernet0", "up"])?;
        let gw = node.nbma_gateway().to_string();
        ip_ns(&node.ns, &["route", "replace", "default", "via", &gw])?;
        Ok(())
    }

    /// Takes node `index`'s uplink away (`ip link del`): the interface, its address and its
    /// routes are gone until [`Lab::restore_uplink`].
    pub fn delete_uplink(&self, index: usize) -> Result<(), LabError> {
        let node = self.node(index)?;
        if node.private_nbma.is_some() {
            return Err(LabError::Spec(
                "uplink churn is not supported behind the lab's NAT".into(),
            ));
        }
        ip_ns(&node.ns, &["link", "del", "Ethernet0"])?;
        Ok(())
    }

    /// Creates node `index`'s uplink again after [`Lab::delete_uplink`], as the lab built it
    /// (a new interface with a new index), with the node's current NBMA address.
    pub fn restore_uplink(&self, index: usize) -> Result<(), LabError> {
        let node = self.node(index)?;
        let port = format!("p{index}");
        let inet = self.inet_ns();
        ip_ns(
            &node.ns,
            &[
                "link",
                "add",
                "Ethernet0",
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                &inet,
            ],
        )?;
        ip_ns(&inet, &["link", "set", &port, "master", "br0", "up"])?;
        let nbma = format!("{}/24", node.nbma);
        ip_ns(&node.ns, &["addr", "add", &nbma, "dev", "Ethernet0"])?;
        ip_ns(&node.ns, &["link", "set", "Ethernet0", "up"])?;
        let gw = node.nbma_gateway().to_string();
        ip_ns(&node.ns, &["route", "replace", "default", "via", &gw])?;
        Ok(())
    }

    /// Open file descriptors of node `index`'s daemon (`/proc/PID/fd`), when it runs.
    pub fn daemon_fds(&self, index: usize) -> Option<usize> {
        let pid = self.daemon_pid(index)?;
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()
            .map(Iterator::count)
    }

    /// An unused NBMA address in node `index`'s subnet (for address changes): the node's
    /// address + 100 in the last octet, wrapping within 1..=200.
    pub fn spare_nbma(&self, index: usize) -> Result<Ipv4Addr, LabError> {
        let node = self.node(index)?;
        let [a, b, c, d] = node.nbma.octets();
        let e = if d > 100 { d - 100 } else { d + 100 };
        Ok(Ipv4Addr::new(a, b, c, e))
    }
}
