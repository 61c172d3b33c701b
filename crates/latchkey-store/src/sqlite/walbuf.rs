//! A VFS for the writer's connection that hands SQLite's WAL writes to the
//! kernel in two `pwrite`s per commit instead of two per page.
//!
//! SQLite writes each WAL frame as two calls, its 24-byte header and then the
//! page, so a commit of six pages cost twelve `pwrite`s, and each `pwrite`
//! of a frame, which straddles two of the kernel's pages, paid the file
//! system's per-call and per-page work two or three times over (on this
//! project's VMs 12 such calls cost ~12 µs against ~3 µs for one call with
//! the same bytes, and the WAL's writes were ~16 % of a registration's CPU).
//!
//! The rule that keeps it safe: only whole non-commit frames wait in memory.
//! A frame header whose commit field (the database size, bytes 4..8 of the
//! header, non-zero only on a commit frame, as the WAL format specifies) is
//! set goes out at once together with everything waiting, and its page goes
//! out directly behind it. So when SQLite publishes a commit in the WAL index
//! (after the frames are written), every byte of it is in the file, and
//! other connections, which read the WAL through their own handles, see
//! what they would have seen without this layer. Any other call on the file
//! (read, sync, truncate, size, file control, close) writes out what waits
//! first, so SQLite never reads back stale bytes, and any write that doesn't
//! continue the waiting frames (the WAL header on a restart, a frame
//! rewritten in place, a checksum rewrite) goes straight through after them.
//! A write error is reported by the call that writes, which is the commit's
//! own header at the latest: the commit fails as it would without buffering.
//! A process crash loses only frames of an unpublished transaction, which
//! SQLite's recovery would discard anyway.
//!
//! Every other file (the database, the shared-memory index) is the default
//! VFS's own, opened in place.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::mem::{align_of, size_of};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name the writer's connection opens its database with.
pub(super) const NAME: &CStr = c"latchkey-walbuf";

const FRAME_HEADER: usize = 24;
/// Waiting frames are written out beyond this, so a transaction larger than
/// the cache (an import) doesn't gather itself in memory.
const MAX_WAITING: usize = 1 << 20;
/// The largest write handed to the default VFS at once (see `write_real`).
const MAX_WRITE: usize = 124 * 1024;

/// Registers the VFS (once per process; later calls return the first
/// outcome). Fails only if SQLite has no default VFS.
pub(super) fn register() -> Result<(), c_int> {
    static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: the default VFS lives for the process; the copy is leaked
        // so it does too, as sqlite3_vfs_register requires.
        unsafe {
            let real = ffi::sqlite3_vfs_find(ptr::null());
            if real.is_null() {
                return Err(ffi::SQLITE_ERROR);
            }
            REAL.set(real as usize).ok();
            let mut vfs = *real;
            vfs.szOsFile =
                c_int::try_from(real_offset()).map_err(|_| ffi::SQLITE_ERROR)? + (*real).szOsFile;
            vfs.zName = NAME.as_ptr();
            // Every other method is the default VFS's, which the unix VFS's
            // take no state for from the VFS struct but `mxPathname` (copied).
            vfs.pNext = ptr::null_mut();
            vfs.xOpen = Some(open);
            match ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0) {
                ffi::SQLITE_OK => Ok(()),
                rc => Err(rc),
            }
        }
    })
}

#[cfg(test)]
thread_local! {
    /// This thread's writes handed to the default VFS.
    static REAL_WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// When set, that many more of this thread's writes succeed and the
    /// next one fails as on a full disk.
    static FAIL_AFTER: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// The default VFS, whose methods do the work (its address, as a pointer
/// isn't `Sync`).
static REAL: OnceLock<usize> = OnceLock::new();

/// A WAL file: SQLite's file header, the default VFS's file for the same
/// path (stored right behind this struct, in the memory SQLite allocates),
/// and the frames waiting to be written.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    waiting: Vec<u8>,
    /// The file offset of `waiting[0]`.
    start: i64,
    /// `waiting` ends with a non-commit frame's header, whose page is next.
    header_last: bool,
}

fn real_offset() -> usize {
    size_of::<WalFile>().next_multiple_of(align_of::<u64>())
}

/// Opens a WAL file wrapped, any other file as the default VFS's own.
unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = REAL.get().copied().unwrap_or_default() as *mut ffi::sqlite3_vfs;
    let Some(real_open) = real_vfs.as_ref().and_then(|v| v.xOpen) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Our allocation is larger than the default VFS's: its file fits.
        return real_open(real_vfs, name, file, flags, out_flags);
    }
    let real = file
        .cast::<u8>()
        .add(real_offset())
        .cast::<ffi::sqlite3_file>();
    let rc = real_open(real_vfs, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        if let Some(close) = (*real).pMethods.as_ref().and_then(|m| m.xClose) {
            close(real);
        }
        (*file).pMethods = ptr::null();
        return rc;
    }
    ptr::write(
        file.cast::<WalFile>(),
        WalFile {
            base: ffi::sqlite3_file { pMethods: &METHODS },
            real,
            waiting: Vec::new(),
            start: 0,
            header_last: false,
        },
    );
    ffi::SQLITE_OK
}

impl WalFile {
    /// # Safety
    /// `file` was opened by [`open`] with the WAL flag and not yet closed.
    unsafe fn of<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
        &mut *file.cast::<WalFile>()
    }

    fn methods(&self) -> &ffi::sqlite3_io_methods {
        // SAFETY: an open file's methods table outlives it.
        unsafe { &*(*self.real).pMethods }
    }

    /// Writes `bytes` at `offset` through the default VFS, in pieces it
    /// accepts: the unix VFS writes at most 128 KiB - 1 per call (it masks
    /// the length to 17 bits).
    fn write_real(&self, bytes: &[u8], offset: i64) -> c_int {
        let Some(write) = self.methods().xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut at = offset;
        for piece in bytes.chunks(MAX_WRITE) {
            #[cfg(test)]
            if let Some(left) = FAIL_AFTER.get() {
                FAIL_AFTER.set(left.checked_sub(1));
                if left == 0 {
                    return ffi::SQLITE_FULL;
                }
            }
            // SAFETY: `piece` is live for the call; `real` is open. The
            // length fits: MAX_WRITE < c_int::MAX.
            let rc = unsafe { write(self.real, piece.as_ptr().cast(), piece.len() as c_int, at) };
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            at += piece.len() as i64;
            #[cfg(test)]
            REAL_WRITES.set(REAL_WRITES.get() + 1);
        }
        ffi::SQLITE_OK
    }

    /// Writes out the waiting frames; they are dropped either way, and a
    /// failure is the caller's to report.
    fn flush(&mut self) -> c_int {
        if self.waiting.is_empty() {
            return ffi::SQLITE_OK;
        }
        let rc = self.write_real(&self.waiting, self.start);
        self.waiting.clear();
        self.header_last = false;
        rc
    }

    fn end(&self) -> i64 {
        self.start + self.waiting.len() as i64
    }

    fn write(&mut self, bytes: &[u8], offset: i64) -> c_int {
        if !self.waiting.is_empty() && offset != self.end() {
            let rc = self.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let header = bytes.len() == FRAME_HEADER;
        let may_wait = if header {
            bytes[4..8] == [0; 4]
        } else {
            self.header_last && offset == self.end()
        };
        if self.waiting.is_empty() {
            if !may_wait {
                return self.write_real(bytes, offset);
            }
            self.start = offset;
        }
        self.waiting.extend_from_slice(bytes);
        self.header_last = header;
        if !may_wait || (!header && self.waiting.len() >= MAX_WAITING) {
            return self.flush();
        }
        ffi::SQLITE_OK
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// Calls the default VFS's method `$m` on the real file after writing out
/// what waits (if `$flush`), or returns `$missing` if it has none.
macro_rules! delegate {
    ($file:expr, $flush:expr, $m:ident, $missing:expr $(, $arg:expr)*) => {{
        let w = WalFile::of($file);
        let flushed = if $flush { w.flush() } else { ffi::SQLITE_OK };
        match w.methods().$m {
            Some(m) if flushed == ffi::SQLITE_OK => m(w.real $(, $arg)*),
            Some(_) => flushed,
            None => $missing,
        }
    }};
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let w = WalFile::of(file);
    let flushed = w.flush();
    let closed = match w.methods().xClose {
        Some(close) => close(w.real),
        None => ffi::SQLITE_OK,
    };
    ptr::drop_in_place(file.cast::<WalFile>());
    (*file).pMethods = ptr::null();
    if flushed == ffi::SQLITE_OK {
        closed
    } else {
        flushed
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    delegate!(
        file,
        true,
        xRead,
        ffi::SQLITE_IOERR_READ,
        buf,
        amount,
        offset
    )
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len);
    WalFile::of(file).write(bytes, offset)
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    delegate!(file, true, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    delegate!(file, true, xSync, ffi::SQLITE_IOERR_FSYNC, flags)
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    delegate!(file, true, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    delegate!(file, false, xLock, ffi::SQLITE_IOERR_LOCK, level)
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    delegate!(file, false, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    delegate!(
        file,
        false,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    delegate!(file, true, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    delegate!(file, false, xSectorSize, 4096)
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    delegate!(file, false, xDeviceCharacteristics, 0)
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    delegate!(
        file,
        false,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        region,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    delegate!(
        file,
        false,
        xShmLock,
        ffi::SQLITE_IOERR_SHMLOCK,
        offset,
        n,
        flags
    )
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let w = WalFile::of(file);
    if let Some(barrier) = w.methods().xShmBarrier {
        barrier(w.real);
    }
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    delegate!(file, false, xShmUnmap, ffi::SQLITE_OK, delete)
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let w = WalFile::of(file);
    let flushed = w.flush();
    match w.methods().xFetch {
        Some(f) if flushed == ffi::SQLITE_OK => f(w.real, offset, amount, out),
        _ => {
            *out = ptr::null_mut();
            flushed
        }
    }
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    delegate!(file, false, xUnfetch, ffi::SQLITE_OK, offset, page)
}

#[cfg(test)]
#[path = "walbuf_tests.rs"]
mod tests;
