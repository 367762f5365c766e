//! The exchanges (RFC 7296 §1), each as `impl IkeEngine` blocks: IKE_SA_INIT, IKE_AUTH,
//! the Child SA negotiation they share with CREATE_CHILD_SA, CREATE_CHILD_SA (rekeys), and
//! INFORMATIONAL.

pub(crate) mod auth;
pub(crate) mod child_sa;
pub(crate) mod create_child;
pub(crate) mod info;
pub(crate) mod init;
