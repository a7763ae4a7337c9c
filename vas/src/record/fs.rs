//! The filesystem seam of recording: every file operation the recorder, crash recovery and
//! retention perform goes through [`MediaFs`].
//!
//! Owns the small set of operations recording needs (create, append, fsync, truncate, rename,
//! remove, list a folder, read, free space), the real implementation [`OsFs`], and
//! [`FaultFs`] (feature `test-util`), which wraps the real one and injects faults: a disk
//! that fills up, renames that fail with EIO. It must never decide anything about recordings
//! (names, layout, the order of operations, what to keep): its callers do. It never buffers
//! in user space: one [`MediaFile::append`] is one `write` to the operating system (repeated
//! only if the OS takes part of it).
//!
//! The operations block. Async callers run them on tokio's blocking pool.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What a folder entry is (symbolic links are reported as such, never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (to anything).
    Symlink,
    /// Anything else (socket, device, fifo).
    Other,
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (non-UTF-8 bytes replaced, so such names never match ours).
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes (0 for anything but files).
    pub len: u64,
}

/// Size and free space of the filesystem holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSpace {
    /// Total size of the filesystem, in bytes.
    pub total: u64,
    /// Bytes an unprivileged writer may still use.
    pub available: u64,
}

/// A file open for writing, created by [`MediaFs::create`].
pub trait MediaFile: Send + fmt::Debug {
    /// Writes all of `data` at the end of the file, with no buffering in user space.
    /// On error, part of `data` may have been written.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Flushes the file's data to stable storage (fsync).
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file to `len` bytes; later appends continue from there.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

/// The file operations of recording. See the module docs.
pub trait MediaFs: Send + Sync + fmt::Debug + 'static {
    /// Creates a folder and its missing parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Creates (or empties) a file and opens it for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn MediaFile>>;
    /// Opens a file for reading.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>>;
    /// The size of a file, in bytes.
    fn file_len(&self, path: &Path) -> io::Result<u64>;
    /// Cuts a file to `len` bytes.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a folder and everything in it (symbolic links are removed, not followed).
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The entries of a folder, in no particular order.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// Flushes a folder's entries (new, renamed and removed names) to stable storage.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Size and free space of the filesystem holding `path`.
    fn space(&self, path: &Path) -> io::Result<FsSpace>;
}

/// Reads a whole small file (a playlist) through `fs`, failing beyond `max_len` bytes.
pub fn read_to_string_bounded(fs: &dyn MediaFs, path: &Path, max_len: u64) -> io::Result<String> {
    let mut text = String::new();
    let read = fs
        .open_read(path)?
        .take(max_len.saturating_add(1))
        .read_to_string(&mut text)?;
    if read as u64 > max_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} exceeds {max_len} bytes", path.display()),
        ));
    }
    Ok(text)
}

/// Replaces `path` with `data` atomically: writes `temp` (same folder), optionally fsyncs
/// it, renames it over `path`, and optionally fsyncs the folder. A reader sees the old
/// content or the new, never a mix; on failure `temp` is removed (best effort).
pub fn replace_file(
    fs: &dyn MediaFs,
    path: &Path,
    temp: &Path,
    data: &[u8],
    sync: bool,
) -> io::Result<()> {
    let result = (|| {
        let mut file = fs.create(temp)?;
        file.append(data)?;
        if sync {
            file.sync()?;
        }
        drop(file);
        fs.rename(temp, path)?;
        if sync && let Some(dir) = path.parent() {
            fs.sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs.remove_file(temp);
    }
    result
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsFs;

/// A real file open for appending.
#[derive(Debug)]
struct OsFile {
    file: File,
}

impl MediaFile for OsFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.seek(SeekFrom::Start(len))?;
        Ok(())
    }
}

impl MediaFs for OsFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn MediaFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(OsFile { file }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(path)?))
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        OpenOptions::new().write(true).open(path)?.set_len(len)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Removed while listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let ft = meta.file_type();
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            out.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind,
                len: if kind == EntryKind::File {
                    meta.len()
                } else {
                    0
                },
            });
        }
        Ok(out)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    #[cfg(unix)]
    fn space(&self, path: &Path) -> io::Result<FsSpace> {
        let st = rustix::fs::statvfs(path).map_err(io::Error::from)?;
        Ok(FsSpace {
            total: st.f_blocks.saturating_mul(st.f_frsize),
            available: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }

    #[cfg(not(unix))]
    fn space(&self, _path: &Path) -> io::Result<FsSpace> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "free space is only measured on Unix",
        ))
    }
}

#[cfg(test)]
pub use fault::FaultFs;

#[cfg(test)]
mod fault {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, MutexGuard};

    use super::*;

    /// The real filesystem under one root folder, with faults injected on demand (feature
    /// `test-util`; for tests).
    ///
    /// * A simulated capacity: writes that would take the bytes under the root past it write
    ///   what fits and fail with `StorageFull` (ENOSPC), and [`MediaFs::space`] reports the
    ///   capacity and what is left of it, so free space grows back as files are removed.
    /// * Renames that fail with an I/O error (EIO), or that take a while (a slow disk).
    /// * Counters of appends, to check that each frame is one write.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use vas::record::fs::{FaultFs, MediaFs};
    /// let dir = tempfile::tempdir().unwrap();
    /// let fs = FaultFs::new(dir.path());
    /// fs.set_capacity(Some(10));
    /// let mut f = fs.create(&dir.path().join("a")).unwrap();
    /// f.append(b"12345678").unwrap();
    /// assert_eq!(f.append(b"abcd").unwrap_err().kind(), ErrorKind::StorageFull);
    /// assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"12345678ab");
    /// assert_eq!(fs.space(dir.path()).unwrap().available, 0);
    /// ```
    #[derive(Debug, Clone)]
    pub struct FaultFs {
        root: PathBuf,
        state: Arc<Mutex<FaultState>>,
    }

    #[derive(Debug, Default)]
    struct FaultState {
        capacity: Option<u64>,
        fail_renames: bool,
        rename_delay: Option<std::time::Duration>,
        appends: u64,
        appends_per_file: HashMap<PathBuf, u64>,
        appended_bytes: u64,
        failed_writes: u64,
    }

    impl FaultFs {
        /// A faultless filesystem rooted at `root` (which the simulated capacity covers).
        pub fn new(root: impl Into<PathBuf>) -> Self {
            FaultFs {
                root: root.into(),
                state: Arc::default(),
            }
        }

        fn lock(&self) -> MutexGuard<'_, FaultState> {
            // A panicking test thread leaves counters that are still meaningful.
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Sets the simulated size of the filesystem (`None`: the real one's).
        pub fn set_capacity(&self, bytes: Option<u64>) {
            self.lock().capacity = bytes;
        }

        /// Makes every rename fail with EIO (or work again).
        pub fn fail_renames(&self, fail: bool) {
            self.lock().fail_renames = fail;
        }

        /// Makes every rename sleep this long first, on the calling thread (`None`: no delay).
        pub fn set_rename_delay(&self, delay: Option<std::time::Duration>) {
            self.lock().rename_delay = delay;
        }

        /// Appends so far (each is one write to the OS).
        pub fn appends(&self) -> u64 {
            self.lock().appends
        }

        /// Appends so far, per file path (as created).
        pub fn appends_per_file(&self) -> HashMap<PathBuf, u64> {
            self.lock().appends_per_file.clone()
        }

        /// Appends that failed with a simulated full disk.
        pub fn failed_writes(&self) -> u64 {
            self.lock().failed_writes
        }

        /// Bytes in regular files under the root (symbolic links not followed).
        pub fn used_bytes(&self) -> u64 {
            fn walk(dir: &Path) -> u64 {
                let Ok(entries) = OsFs.list_dir(dir) else {
                    return 0;
                };
                entries
                    .iter()
                    .map(|e| match e.kind {
                        EntryKind::File => e.len,
                        EntryKind::Dir => walk(&dir.join(&e.name)),
                        _ => 0,
                    })
                    .sum()
            }
            walk(&self.root)
        }

        /// Bytes still writable under the simulated capacity, if one is set.
        fn room(&self) -> Option<u64> {
            let capacity = self.lock().capacity?;
            Some(capacity.saturating_sub(self.used_bytes()))
        }
    }

    fn disk_full() -> io::Error {
        io::Error::new(
            io::ErrorKind::StorageFull,
            "no space left on device (simulated)",
        )
    }

    #[derive(Debug)]
    struct FaultFile {
        inner: Box<dyn MediaFile>,
        path: PathBuf,
        fs: FaultFs,
    }

    impl MediaFile for FaultFile {
        fn append(&mut self, data: &[u8]) -> io::Result<()> {
            {
                let mut st = self.fs.lock();
                st.appends += 1;
                *st.appends_per_file.entry(self.path.clone()).or_default() += 1;
            }
            let fits = self
                .fs
                .room()
                .map_or(data.len(), |room| data.len().min(room as usize));
            if fits > 0 {
                self.inner.append(&data[..fits])?;
            }
            self.fs.lock().appended_bytes += fits as u64;
            if fits < data.len() {
                self.fs.lock().failed_writes += 1;
                return Err(disk_full());
            }
            Ok(())
        }

        fn sync(&mut self) -> io::Result<()> {
            self.inner.sync()
        }

        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.inner.truncate(len)
        }
    }

    impl MediaFs for FaultFs {
        fn create_dir_all(&self, path: &Path) -> io::Result<()> {
            OsFs.create_dir_all(path)
        }

        fn create(&self, path: &Path) -> io::Result<Box<dyn MediaFile>> {
            Ok(Box::new(FaultFile {
                inner: OsFs.create(path)?,
                path: path.to_path_buf(),
                fs: self.clone(),
            }))
        }

        fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
            OsFs.open_read(path)
        }

        fn file_len(&self, path: &Path) -> io::Result<u64> {
            OsFs.file_len(path)
        }

        fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
            OsFs.truncate(path, len)
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let (fail, delay) = {
                let st = self.lock();
                (st.fail_renames, st.rename_delay)
            };
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
            if fail {
                return Err(io::Error::other("input/output error (simulated EIO)"));
            }
            OsFs.rename(from, to)
        }

        fn remove_file(&self, path: &Path) -> io::Result<()> {
            OsFs.remove_file(path)
        }

        fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
            OsFs.remove_dir_all(path)
        }

        fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
            OsFs.list_dir(path)
        }

        fn sync_dir(&self, path: &Path) -> io::Result<()> {
            OsFs.sync_dir(path)
        }

        fn space(&self, path: &Path) -> io::Result<FsSpace> {
            let capacity = self.lock().capacity;
            match capacity {
                Some(total) => Ok(FsSpace {
                    total,
                    available: total.saturating_sub(self.used_bytes()),
                }),
                None => OsFs.space(path),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_files_append_truncate_and_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = OsFs.create(&path).unwrap();
        f.append(b"hello world").unwrap();
        f.truncate(5).unwrap();
        f.append(b"!").unwrap();
        f.sync().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello!");
        assert_eq!(OsFs.file_len(&path).unwrap(), 6);
        let listed = OsFs.list_dir(dir.path()).unwrap();
        assert_eq!(
            listed,
            vec![DirEntry {
                name: "f".into(),
                kind: EntryKind::File,
                len: 6
            }]
        );
        let space = OsFs.space(dir.path()).unwrap();
        assert!(space.total > 0 && space.available <= space.total);
        assert_eq!(
            read_to_string_bounded(&OsFs, &path, 6).unwrap(),
            "hello!".to_owned()
        );
        assert_eq!(
            read_to_string_bounded(&OsFs, &path, 5).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn fault_fs_fills_up_and_frees_space() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(dir.path());
        fs.set_capacity(Some(100));
        let a = dir.path().join("a");
        let mut f = fs.create(&a).unwrap();
        f.append(&[1; 60]).unwrap();
        assert_eq!(fs.space(dir.path()).unwrap().available, 40);
        assert_eq!(
            f.append(&[2; 50]).unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
        assert_eq!(OsFs.file_len(&a).unwrap(), 100);
        assert_eq!((fs.appends(), fs.failed_writes()), (2, 1));
        f.truncate(60).unwrap();
        f.append(&[3; 40]).unwrap();
        fs.remove_file(&a).unwrap();
        assert_eq!(fs.space(dir.path()).unwrap().available, 100);
        fs.fail_renames(true);
        let b = dir.path().join("b");
        fs.create(&b).unwrap();
        assert!(fs.rename(&b, &a).is_err());
        fs.fail_renames(false);
        fs.rename(&b, &a).unwrap();
    }
}
