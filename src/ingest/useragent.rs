//! User agent → player/device family (stub, being written).
