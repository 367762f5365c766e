//! ESP in userspace (RFC 4303 with AES-GCM from RFC 4106 and AES-CBC with HMAC; ESP in UDP
//! from RFC 3948): the packet codec, security associations (sequence numbers, anti-replay
//! window, extended sequence numbers, lifetimes, counters), and the fail-closed
//! [`dmvpn_forwarding::transport::Protection`] of the mGRE transport.
