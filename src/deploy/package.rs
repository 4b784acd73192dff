//! The Lambda package of the central functions, pure over bytes: checks that an executable can
//! run as `bootstrap` on `provided.al2023` (ELF64 x86_64, glibc symbol versions ≤ 2.34 read
//! from its dynamic section, within Lambda's unzipped size limit) and zips it deterministically
//! (one entry `bootstrap`, mode 0755, a fixed time), so the same binary gives the same zip and
//! the same content-addressed key.

use sha2::{Digest, Sha256};

use crate::compile::names::hex;

/// The newest glibc `provided.al2023` offers.
pub const MAX_GLIBC: [u32; 2] = [2, 34];
/// Lambda's limit on a function's unzipped code (250 MB).
pub const UNZIPPED_LIMIT: u64 = 262_144_000;
/// How to build a bootstrap Lambda can run.
pub const BUILD_HINT: &str = "build one with `cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34` (zig and cargo-zigbuild from PyPI: `pip install ziglang cargo-zigbuild`), then pass --bootstrap target/x86_64-unknown-linux-gnu/release/dpc";
/// The key prefix of uploaded packages; the rest is the zip's SHA-256.
pub const KEY_PREFIX: &str = "dpc/bootstrap-";

/// Why an executable cannot be the functions' `bootstrap`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error(
        "the bootstrap is {size} bytes; Lambda takes at most {UNZIPPED_LIMIT} bytes of unzipped code"
    )]
    TooLarge { size: u64 },
    #[error("the bootstrap is not an ELF executable for Linux x86_64 ({0})")]
    NotElf(String),
    #[error("the bootstrap is a malformed ELF file ({0})")]
    Malformed(String),
    #[error(
        "the bootstrap needs {highest} but Lambda's provided.al2023 has glibc 2.34 (it needs {})",
        needs.join(", ")
    )]
    GlibcTooNew { highest: String, needs: Vec<String> },
    #[error("the bootstrap needs {0}, which Lambda's glibc 2.34 does not provide")]
    UnknownGlibc(String),
}

impl PackageError {
    /// Whether rebuilding with cargo-zigbuild ([`BUILD_HINT`]) fixes it.
    pub fn rebuild_helps(&self) -> bool {
        !matches!(self, PackageError::Malformed(_))
    }
}

/// What an executable needs from the system it runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The `GLIBC_*` symbol versions, oldest first.
    pub glibc: Vec<String>,
    /// The shared libraries (`DT_NEEDED`), in file order.
    pub libraries: Vec<String>,
}

impl Needs {
    /// The newest glibc version needed.
    pub fn highest(&self) -> Option<&str> {
        self.glibc.last().map(String::as_str)
    }
}

/// A checked executable, zipped.
#[derive(Debug, Clone)]
pub struct Package {
    pub zip: Vec<u8>,
    /// The zip's SHA-256, hex.
    pub sha256: String,
    pub needs: Needs,
}

impl Package {
    /// Where the package goes in the artifacts bucket: content-addressed.
    pub fn key(&self) -> String {
        format!("{KEY_PREFIX}{}.zip", self.sha256)
    }
}

/// Checks `binary` and zips it as `bootstrap`.
pub fn package(binary: &[u8]) -> Result<Package, PackageError> {
    let size = binary.len() as u64;
    if size > UNZIPPED_LIMIT {
        return Err(PackageError::TooLarge { size });
    }
    let needs = check(binary)?;
    let zip = zip_bootstrap(binary);
    let sha256 = hex(&Sha256::digest(&zip));
    Ok(Package { zip, sha256, needs })
}

/// What `binary` needs, or why Lambda's `provided.al2023` cannot run it.
pub fn check(binary: &[u8]) -> Result<Needs, PackageError> {
    let needs = needs(binary)?;
    let mut highest: Option<(Vec<u32>, &str)> = None;
    for name in &needs.glibc {
        let Some(version) = glibc_version(name) else {
            return Err(PackageError::UnknownGlibc(name.clone()));
        };
        if highest.as_ref().is_none_or(|(h, _)| version > *h) {
            highest = Some((version, name));
        }
    }
    match highest {
        Some((version, name)) if version.as_slice() > MAX_GLIBC.as_slice() => {
            Err(PackageError::GlibcTooNew {
                highest: name.to_string(),
                needs: needs.glibc.clone(),
            })
        }
        _ => Ok(needs),
    }
}

/// `GLIBC_2.2.5` → `[2, 2, 5]`; `None` for the non-numeric ones (`GLIBC_PRIVATE`,
/// `GLIBC_ABI_DT_RELR`).
fn glibc_version(name: &str) -> Option<Vec<u32>> {
    name.strip_prefix("GLIBC_")?
        .split('.')
        .map(|part| part.parse().ok())
        .collect()
}

/// Little-endian reads that fail instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn slice(&self, at: u64, len: u64) -> Result<&[u8], PackageError> {
        let start = usize::try_from(at).ok();
        let end = at.checked_add(len).and_then(|e| usize::try_from(e).ok());
        match (start, end) {
            (Some(s), Some(e)) if e <= self.0.len() => Ok(&self.0[s..e]),
            _ => Err(PackageError::Malformed(format!(
                "{len} bytes at offset {at} are past the end of the file"
            ))),
        }
    }

    fn u16(&self, at: u64) -> Result<u16, PackageError> {
        let b = self.slice(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: u64) -> Result<u32, PackageError> {
        let b = self.slice(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&self, at: u64) -> Result<u64, PackageError> {
        let b = self.slice(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// The NUL-terminated string at `at` within the string table `[table, table + size)`.
    fn string(&self, table: u64, size: u64, at: u64) -> Result<String, PackageError> {
        if at >= size {
            return Err(PackageError::Malformed(format!(
                "string {at} is outside the string table"
            )));
        }
        let s = self.slice(table.saturating_add(at), size - at)?;
        let end = s
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| PackageError::Malformed(format!("string {at} is not terminated")))?;
        Ok(String::from_utf8_lossy(&s[..end]).into_owned())
    }
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;
/// More needed versions than any real executable has: garbage.
const MAX_NAMES: usize = 4096;

/// A loadable segment: where its file bytes sit in memory.
struct Segment {
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Reads the dynamic section as the dynamic loader does (through the program headers, so a
/// binary without section headers is read too): the libraries and symbol versions needed.
/// A static executable needs nothing.
pub fn needs(binary: &[u8]) -> Result<Needs, PackageError> {
    let b = Bytes(binary);
    let ident = b
        .slice(0, 20)
        .map_err(|_| PackageError::NotElf("too short".into()))?;
    if &ident[..4] != b"\x7fELF" {
        return Err(PackageError::NotElf("no ELF magic".into()));
    }
    if ident[4] != 2 {
        return Err(PackageError::NotElf("not 64-bit".into()));
    }
    if ident[5] != 1 {
        return Err(PackageError::NotElf("not little-endian".into()));
    }
    let kind = b.u16(16)?;
    if kind != 2 && kind != 3 {
        return Err(PackageError::NotElf(format!(
            "ELF type {kind}, not an executable"
        )));
    }
    let machine = b.u16(18)?;
    if machine != 62 {
        return Err(PackageError::NotElf(format!(
            "machine {machine}{}, not x86_64",
            if machine == 183 { " (aarch64)" } else { "" }
        )));
    }
    let phoff = b.u64(32)?;
    let phentsize = u64::from(b.u16(54)?);
    let phnum = u64::from(b.u16(56)?);
    if phnum > 0 && phentsize < 56 {
        return Err(PackageError::Malformed(format!(
            "program header size {phentsize}"
        )));
    }
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .ok_or_else(|| PackageError::Malformed("program header offset".into()))?;
        let kind = b.u32(at)?;
        let offset = b.u64(at + 8)?;
        let vaddr = b.u64(at + 16)?;
        let filesz = b.u64(at + 32)?;
        match kind {
            PT_LOAD => loads.push(Segment {
                offset,
                vaddr,
                filesz,
            }),
            PT_DYNAMIC => dynamic = Some((offset, filesz)),
            _ => {}
        }
    }
    let Some((offset, size)) = dynamic else {
        return Ok(Needs::default());
    };
    // The dynamic entries: 16 bytes each, up to DT_NULL.
    let mut needed = Vec::new();
    let (mut strtab, mut strsz, mut verneed, mut verneednum) = (None, None, None, 0);
    for i in 0..size / 16 {
        let at = offset.saturating_add(i * 16);
        let (tag, value) = (b.u64(at)?, b.u64(at + 8)?);
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed.push(value),
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            DT_VERNEED => verneed = Some(value),
            DT_VERNEEDNUM => verneednum = value,
            _ => {}
        }
    }
    if needed.is_empty() && verneed.is_none() {
        return Ok(Needs::default());
    }
    let file_offset = |vaddr: u64, what: &str| {
        loads
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz)
            .map(|s| s.offset.saturating_add(vaddr - s.vaddr))
            .ok_or_else(|| PackageError::Malformed(format!("{what} is in no loaded segment")))
    };
    let (Some(strtab), Some(strsz)) = (strtab, strsz) else {
        return Err(PackageError::Malformed("no string table".into()));
    };
    let strtab = file_offset(strtab, "the string table")?;
    let libraries = needed
        .into_iter()
        .map(|at| b.string(strtab, strsz, at))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names = Vec::new();
    if let Some(verneed) = verneed {
        let mut entry = file_offset(verneed, "the version needs")?;
        for _ in 0..verneednum {
            // Elf64_Verneed: version, count, file, aux, next.
            let count = b.u16(entry + 2)?;
            let mut aux = entry.saturating_add(u64::from(b.u32(entry + 8)?));
            for _ in 0..count {
                // Elf64_Vernaux: hash, flags, other, name, next.
                names.push(b.string(strtab, strsz, u64::from(b.u32(aux + 8)?))?);
                if names.len() > MAX_NAMES {
                    return Err(PackageError::Malformed("too many version needs".into()));
                }
                let next = b.u32(aux + 12)?;
                if next == 0 {
                    break;
                }
                aux = aux.saturating_add(u64::from(next));
            }
            let next = b.u32(entry + 12)?;
            if next == 0 {
                break;
            }
            entry = entry.saturating_add(u64::from(next));
        }
    }
    let mut glibc: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with("GLIBC_"))
        .collect();
    // Numeric versions by number, oldest first; the others (GLIBC_PRIVATE…) after them.
    glibc.sort_by(|a, b| {
        let key = |n: &str| (glibc_version(n).is_none(), glibc_version(n), n.to_string());
        key(a).cmp(&key(b))
    });
    glibc.dedup();
    Ok(Needs { glibc, libraries })
}

/// The DOS date of 1980-01-01 (the zip epoch), time 00:00: every entry gets it.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
const NAME: &[u8] = b"bootstrap";
/// A regular file, rwxr-xr-x, in the high half of the external attributes (made on Unix).
const EXTERNAL_ATTRIBUTES: u32 = 0o100_755 << 16;

/// A zip holding `binary` as `bootstrap`: deflated (stored when that is not smaller), no
/// extra fields, the same bytes for the same binary.
pub fn zip_bootstrap(binary: &[u8]) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(binary, 6);
    let (method, data): (u16, &[u8]) = if deflated.len() < binary.len() {
        (8, &deflated)
    } else {
        (0, binary)
    };
    let crc = crc32fast::hash(binary);
    // Sizes fit: package() refuses anything over UNZIPPED_LIMIT, and deflate never grows
    // data here (stored is chosen instead).
    let compressed = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let size = u32::try_from(binary.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(data.len() + 128);
    let common = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(NAME.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    };
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    common(&mut out);
    out.extend_from_slice(NAME);
    out.extend_from_slice(data);
    let directory = out.len();
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix, 2.0
    common(&mut out);
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    out.extend_from_slice(&EXTERNAL_ATTRIBUTES.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(NAME);
    let directory_size = out.len() - directory;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // the directory's disk
    out.extend_from_slice(&1u16.to_le_bytes()); // entries on this disk
    out.extend_from_slice(&1u16.to_le_bytes()); // entries
    out.extend_from_slice(
        &u32::try_from(directory_size)
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&u32::try_from(directory).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal ELF64 x86_64 executable image: one PT_LOAD covering the file, a PT_DYNAMIC,
    /// and a version-needs list naming `versions` of libc.so.6.
    fn elf(machine: u16, versions: &[&str]) -> Vec<u8> {
        let mut strings = b"\0libc.so.6\0".to_vec();
        let mut offsets = Vec::new();
        for v in versions {
            offsets.push(strings.len() as u32);
            strings.extend_from_slice(v.as_bytes());
            strings.push(0);
        }
        let (phoff, strtab) = (64u64, 64 + 2 * 56);
        let verneed = strtab + strings.len() as u64;
        let verneed_size = 16 + 16 * versions.len() as u64;
        let dynamic = verneed + verneed_size;
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&3u16.to_le_bytes());
        f[18..20].copy_from_slice(&machine.to_le_bytes());
        f[32..40].copy_from_slice(&phoff.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&2u16.to_le_bytes());
        let total = dynamic + 6 * 16;
        let ph = |kind: u32, offset: u64, size: u64| {
            let mut p = vec![0u8; 56];
            p[..4].copy_from_slice(&kind.to_le_bytes());
            p[8..16].copy_from_slice(&offset.to_le_bytes());
            p[16..24].copy_from_slice(&offset.to_le_bytes());
            p[32..40].copy_from_slice(&size.to_le_bytes());
            p
        };
        f.extend(ph(PT_LOAD, 0, total));
        f.extend(ph(PT_DYNAMIC, dynamic, 6 * 16));
        f.extend(&strings);
        // One Verneed (libc.so.6) with its Vernaux entries right after it.
        f.extend(1u16.to_le_bytes());
        f.extend((versions.len() as u16).to_le_bytes());
        f.extend(1u32.to_le_bytes());
        f.extend(16u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        for (i, off) in offsets.iter().enumerate() {
            f.extend(0u32.to_le_bytes());
            f.extend(0u16.to_le_bytes());
            f.extend((i as u16 + 2).to_le_bytes());
            f.extend(off.to_le_bytes());
            let next: u32 = if i + 1 < offsets.len() { 16 } else { 0 };
            f.extend(next.to_le_bytes());
        }
        for (tag, value) in [
            (DT_NEEDED, 1),
            (DT_STRTAB, strtab),
            (DT_STRSZ, strings.len() as u64),
            (DT_VERNEED, verneed),
            (DT_VERNEEDNUM, 1),
            (DT_NULL, 0),
        ] {
            f.extend(tag.to_le_bytes());
            f.extend(value.to_le_bytes());
        }
        assert_eq!(f.len() as u64, total);
        f
    }

    #[test]
    fn reads_the_glibc_versions_needed_oldest_first() {
        let needs = check(&elf(62, &["GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.14"])).expect("ok");
        assert_eq!(needs.glibc, ["GLIBC_2.2.5", "GLIBC_2.14", "GLIBC_2.34"]);
        assert_eq!(needs.libraries, ["libc.so.6"]);
        assert_eq!(needs.highest(), Some("GLIBC_2.34"));
    }

    #[test]
    fn refuses_a_newer_glibc_naming_the_highest() {
        let err = check(&elf(62, &["GLIBC_2.36", "GLIBC_2.2.5"])).expect_err("2.36");
        assert_eq!(
            err,
            PackageError::GlibcTooNew {
                highest: "GLIBC_2.36".into(),
                needs: vec!["GLIBC_2.2.5".into(), "GLIBC_2.36".into()],
            }
        );
        assert!(err.to_string().contains("needs GLIBC_2.36"), "{err}");
        assert!(err.rebuild_helps());
        // 2.34.1 is newer than 2.34; 2.4 older.
        assert!(check(&elf(62, &["GLIBC_2.34.1"])).is_err());
        assert!(check(&elf(62, &["GLIBC_2.4"])).is_ok());
        // Versions it cannot judge (relative relocations need glibc 2.36) are refused too.
        assert_eq!(
            check(&elf(62, &["GLIBC_ABI_DT_RELR", "GLIBC_2.2.5"])),
            Err(PackageError::UnknownGlibc("GLIBC_ABI_DT_RELR".into()))
        );
    }

    #[test]
    fn refuses_other_machines_and_formats() {
        let arm = check(&elf(183, &[])).expect_err("aarch64");
        assert!(arm.to_string().contains("aarch64"), "{arm}");
        assert!(matches!(
            check(b"#!/bin/sh\necho hi\n"),
            Err(PackageError::NotElf(_))
        ));
        let mut thirty_two = elf(62, &[]);
        thirty_two[4] = 1;
        assert!(matches!(check(&thirty_two), Err(PackageError::NotElf(_))));
        let truncated = &elf(62, &["GLIBC_2.2.5"])[..150];
        assert!(matches!(check(truncated), Err(PackageError::Malformed(_))));
    }

    #[test]
    fn a_static_executable_needs_nothing() {
        let mut f = elf(62, &[]);
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // the PT_LOAD only
        assert_eq!(check(&f), Ok(Needs::default()));
    }

    #[test]
    fn the_size_limit_is_lambdas() {
        let big = vec![0u8; UNZIPPED_LIMIT as usize + 1];
        assert_eq!(
            package(&big).map(|_| ()),
            Err(PackageError::TooLarge {
                size: UNZIPPED_LIMIT + 1
            })
        );
    }

    /// Reads the one entry of a zip the way an unzipper does: from the central directory.
    fn unzip(zip: &[u8]) -> (String, u32, Vec<u8>) {
        let b = Bytes(zip);
        let end = zip.len() as u64 - 22;
        assert_eq!(b.u32(end).expect("eocd"), 0x0605_4b50);
        let cd = u64::from(b.u32(end + 16).expect("cd offset"));
        assert_eq!(b.u32(cd).expect("cd"), 0x0201_4b50);
        let method = b.u16(cd + 10).expect("method");
        let csize = u64::from(b.u32(cd + 20).expect("csize"));
        let name_len = u64::from(b.u16(cd + 28).expect("name"));
        let attributes = b.u32(cd + 38).expect("attributes");
        let name =
            String::from_utf8(b.slice(cd + 46, name_len).expect("name").to_vec()).expect("utf8");
        let local = u64::from(b.u32(cd + 42).expect("local"));
        let start = local + 30 + u64::from(b.u16(local + 26).expect("n"));
        let data = b.slice(start, csize).expect("data");
        let content = match method {
            8 => miniz_oxide::inflate::decompress_to_vec(data).expect("inflate"),
            0 => data.to_vec(),
            m => panic!("method {m}"),
        };
        assert_eq!(
            crc32fast::hash(&content),
            b.u32(cd + 16).expect("crc"),
            "crc"
        );
        (name, attributes >> 16, content)
    }

    #[test]
    fn the_zip_holds_an_executable_bootstrap_and_is_deterministic() {
        let binary = elf(62, &["GLIBC_2.2.5"]).repeat(100);
        let zip = zip_bootstrap(&binary);
        assert_eq!(zip, zip_bootstrap(&binary));
        assert!(zip.len() < binary.len(), "deflated");
        let (name, mode, content) = unzip(&zip);
        assert_eq!((name.as_str(), mode), ("bootstrap", 0o100_755));
        assert_eq!(content, binary);
        // Incompressible bytes are stored.
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(unzip(&zip_bootstrap(&noise)).2, noise);

        let p = package(&elf(62, &["GLIBC_2.2.5"])).expect("package");
        assert_eq!(
            p.key(),
            format!("dpc/bootstrap-{}.zip", hex(&Sha256::digest(&p.zip)))
        );
    }

    proptest! {
        /// Garbage never panics, whether it starts like an ELF file or not.
        #[test]
        fn garbage_gives_an_error_not_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            elf_start in any::<bool>(),
        ) {
            let mut bytes = bytes;
            if elf_start && bytes.len() >= 20 {
                bytes[..4].copy_from_slice(b"\x7fELF");
                bytes[4] = 2;
                bytes[5] = 1;
                bytes[16] = 3;
                bytes[17] = 0;
                bytes[18] = 62;
                bytes[19] = 0;
            }
            let _ = check(&bytes);
        }

        /// A real image with random bytes overwritten: an answer or an error, never a panic.
        #[test]
        fn corrupted_images_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        ) {
            let mut f = elf(62, &["GLIBC_2.2.5", "GLIBC_2.34"]);
            let n = f.len();
            for (at, byte) in edits {
                f[at % n] = byte;
            }
            let _ = check(&f);
        }
    }
}
