//! The hostile plugin's sources, built as another version of it: the upgrade and rollback test
//! installs 0.1.0, upgrades to this and rolls back.

include!("../../hostile/src/lib.rs");
