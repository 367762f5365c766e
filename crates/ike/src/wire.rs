//! The IKEv2 message codec (RFC 7296 §3): typed zero-copy views over received bytes and
//! owned representations that emit them.
