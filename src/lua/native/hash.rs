//! The Rust half of `ferry.hash`: digests of a value's bytes (MD5, SHA-1, SHA-256,
//! HMAC-SHA-256) as lower-case hex or raw bytes, CRC-32 as an integer and XXH64 as hex.
//! `ferry.hash` (stdlib/ferry/hash.lua) is the user-facing API.

use hmac::{Hmac, Mac};
use md5::Md5;
use mlua::{Lua, LuaString, Table};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Registers the `hash_*` functions on the native table.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.hash_digest(algorithm, s, raw)` -> the digest of s ("md5", "sha1",
    /// "sha256"), hex or (raw) bytes.
    fn digest_fn(_: &Lua, (alg, s, raw): (String, LuaString, bool)) -> mlua::Result<mlua::BString> {
        let d = digest(&alg, &s.as_bytes()).map_err(mlua::Error::runtime)?;
        Ok(if raw { d } else { hex(&d).into_bytes() }.into())
    }
    /// Lua: `native.hash_hmac_sha256(key, s, raw)` -> the HMAC-SHA-256 of s, hex or bytes.
    fn hmac_fn(
        _: &Lua,
        (key, s, raw): (LuaString, LuaString, bool),
    ) -> mlua::Result<mlua::BString> {
        let d = hmac_sha256(&key.as_bytes(), &s.as_bytes());
        Ok(if raw { d } else { hex(&d).into_bytes() }.into())
    }
    /// Lua: `native.hash_crc32(s)` -> the CRC-32 (IEEE, as zlib and MySQL's CRC32()).
    fn crc32_fn(_: &Lua, s: LuaString) -> mlua::Result<i64> {
        Ok(i64::from(crc32fast::hash(&s.as_bytes())))
    }
    /// Lua: `native.hash_xxhash64(s, seed)` -> the XXH64 of s as 16 hex digits.
    fn xxhash64_fn(_: &Lua, (s, seed): (LuaString, i64)) -> mlua::Result<String> {
        Ok(format!(
            "{:016x}",
            xxhash_rust::xxh64::xxh64(&s.as_bytes(), seed as u64)
        ))
    }
    t.set("hash_digest", lua.create_function(digest_fn)?)?;
    t.set("hash_hmac_sha256", lua.create_function(hmac_fn)?)?;
    t.set("hash_crc32", lua.create_function(crc32_fn)?)?;
    t.set("hash_xxhash64", lua.create_function(xxhash64_fn)?)?;
    Ok(())
}

fn digest(alg: &str, s: &[u8]) -> super::Res<Vec<u8>> {
    Ok(match alg {
        "md5" => Md5::digest(s).to_vec(),
        "sha1" => Sha1::digest(s).to_vec(),
        "sha256" => Sha256::digest(s).to_vec(),
        other => return Err(format!("unknown digest {other:?}").into()),
    })
}

fn hmac_sha256(key: &[u8], s: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(s);
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_published_vectors() {
        let d = |a: &str, s: &str| hex(&digest(a, s.as_bytes()).unwrap());
        assert_eq!(d("md5", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(d("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest("sha3", b"").is_err());
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf43926);
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46db3751d8e999);
    }
}
