//! The TrustList of the DefaultApplicationGroup as a file (OPC 10000-12 §7.8.2, FileType of
//! OPC 10000-5 Annex C): its content is a binary TrustListDataType made from `pki/` when it is
//! opened for reading, and written to `pki/` by CloseAndUpdate.
//!
//! The handles are the shared [`FileHandles`]: a handle belongs to the session that opened it;
//! one writer at a time, and no reader while it writes; at most [`MAX_HANDLES`] open handles,
//! and a handle unused for [`IDLE`] is dropped (async-opcua does not tell node managers when a
//! session ends).

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use fxgate_pki::{TrustListError, TrustListFiles, ALL_LISTS};
use opcua::types::{BinaryDecodable, BinaryEncodable, ByteString, ContextOwned, DateTime, StatusCode, TrustListDataType};
use parking_lot::Mutex;

use super::args::CallError;
use crate::file_handles::{FileError, FileHandles, FileLimits};

/// The largest trust list taken or given (the MaxTrustListSize property).
pub const MAX_TRUST_LIST_SIZE: usize = 1 << 20;
/// At most this many handles are open at once.
pub const MAX_HANDLES: usize = 10;
/// A handle not used for this long is dropped.
pub const IDLE: Duration = Duration::from_secs(600);

const MODE_READ: u8 = 1;
const MODE_WRITE_ERASE: u8 = 6;

/// The TrustList file of one PKI directory.
pub struct TrustListFile {
    pki_dir: PathBuf,
    handles: FileHandles,
    /// LastUpdateTime; held while the lists change, so that no write handle opens meanwhile.
    last_update: Mutex<DateTime>,
}

/// The call error of a file operation whose handle is argument 0 of `count`.
fn file_error(e: FileError, count: usize) -> CallError {
    if let Some(s) = e.mode_status() {
        return s.into();
    }
    match e {
        FileError::UnknownHandle => CallError::Argument { index: 0, count, status: StatusCode::BadInvalidArgument },
        FileError::BadLength => CallError::Argument { index: 1, count, status: StatusCode::BadInvalidArgument },
        FileError::TooManyHandles => StatusCode::BadTooManyOperations.into(),
        _ => StatusCode::BadEncodingLimitsExceeded.into(),
    }
}

/// The binary TrustListDataType of the lists `masks` names (the others empty).
pub fn encode_trust_list(files: TrustListFiles, masks: u32) -> Vec<u8> {
    let list = |on: bool, v: Vec<Vec<u8>>| Some(if on { v.into_iter().map(ByteString::from).collect() } else { Vec::new() });
    let value = TrustListDataType {
        specified_lists: masks,
        trusted_certificates: list(masks & fxgate_pki::TRUSTED_CERTIFICATES != 0, files.trusted_certificates),
        trusted_crls: list(masks & fxgate_pki::TRUSTED_CRLS != 0, files.trusted_crls),
        issuer_certificates: list(masks & fxgate_pki::ISSUER_CERTIFICATES != 0, files.issuer_certificates),
        issuer_crls: list(masks & fxgate_pki::ISSUER_CRLS != 0, files.issuer_crls),
    };
    value.encode_to_vec(&ContextOwned::default().context())
}

/// The mask (SpecifiedLists, unknown bits dropped) and the lists of a file a client wrote.
pub fn decode_trust_list(data: &[u8]) -> Result<(u32, TrustListFiles), StatusCode> {
    let value = TrustListDataType::decode(&mut Cursor::new(data), &ContextOwned::default().context()).map_err(|_| StatusCode::BadDecodingError)?;
    let blobs = |v: Option<Vec<ByteString>>| v.unwrap_or_default().into_iter().map(|b| b.value.unwrap_or_default()).collect();
    Ok((
        value.specified_lists & ALL_LISTS,
        TrustListFiles {
            trusted_certificates: blobs(value.trusted_certificates),
            trusted_crls: blobs(value.trusted_crls),
            issuer_certificates: blobs(value.issuer_certificates),
            issuer_crls: blobs(value.issuer_crls),
        },
    ))
}

/// The status of a refused trust-list change.
fn status_of(e: &TrustListError) -> StatusCode {
    match e {
        TrustListError::NotACertificate { .. } | TrustListError::NotACrl { .. } | TrustListError::NotACa { .. } => StatusCode::BadCertificateInvalid,
        TrustListError::NotFound { .. } => StatusCode::BadInvalidArgument,
        TrustListError::Store(_) => StatusCode::BadInternalError,
    }
}

impl TrustListFile {
    /// The trust list of the store in `pki_dir`.
    pub fn new(pki_dir: PathBuf) -> Self {
        let limits = FileLimits { max_handles: MAX_HANDLES, max_size: MAX_TRUST_LIST_SIZE, idle: IDLE };
        Self { pki_dir, handles: FileHandles::new(limits), last_update: Mutex::new(DateTime::now()) }
    }

    fn content(&self, masks: u32) -> Result<Vec<u8>, CallError> {
        let files = fxgate_pki::read_trust_list(&self.pki_dir).map_err(|e| {
            tracing::warn!(error = %e, "the trust list cannot be read");
            StatusCode::BadInternalError
        })?;
        let data = encode_trust_list(files, masks);
        if data.len() > MAX_TRUST_LIST_SIZE {
            return Err(StatusCode::BadEncodingLimitsExceeded.into());
        }
        Ok(data)
    }

    fn open_handle(&self, session: u32, write: bool, data: Vec<u8>) -> Result<u32, CallError> {
        // not while AddCertificate or RemoveCertificate changes the lists
        let _changing = self.last_update.lock();
        self.handles.open(session, None, write, data).map_err(|e| file_error(e, 1))
    }

    /// Open (mode 1: read, 6: write and erase; others are refused as the TrustList allows).
    pub fn open(&self, session: u32, mode: u8) -> Result<u32, CallError> {
        match mode {
            MODE_READ => {
                let data = self.content(ALL_LISTS)?;
                self.open_handle(session, false, data)
            }
            MODE_WRITE_ERASE => self.open_handle(session, true, Vec::new()),
            _ => Err(CallError::Argument { index: 0, count: 1, status: StatusCode::BadInvalidArgument }),
        }
    }

    /// OpenWithMasks: for reading, the lists `masks` names.
    pub fn open_with_masks(&self, session: u32, masks: u32) -> Result<u32, CallError> {
        let data = self.content(masks & ALL_LISTS)?;
        self.open_handle(session, false, data)
    }

    /// Read: up to `length` bytes from the position (none at the end).
    pub fn read(&self, session: u32, id: u32, length: i32) -> Result<Vec<u8>, CallError> {
        self.handles.read(session, id, length).map_err(|e| file_error(e, 2))
    }

    /// Write: `data` at the position.
    pub fn write(&self, session: u32, id: u32, data: &[u8]) -> Result<(), CallError> {
        self.handles.write(session, id, data).map_err(|e| file_error(e, 2))
    }

    /// GetPosition.
    pub fn position(&self, session: u32, id: u32) -> Result<u64, CallError> {
        self.handles.position(session, id).map_err(|e| file_error(e, 1))
    }

    /// SetPosition (beyond the end: the end).
    pub fn set_position(&self, session: u32, id: u32, position: u64) -> Result<(), CallError> {
        self.handles.set_position(session, id, position).map_err(|e| file_error(e, 2))
    }

    /// Close: what was written is dropped.
    pub fn close(&self, session: u32, id: u32) -> Result<(), CallError> {
        self.handles.close(session, id).map_err(|e| file_error(e, 1))
    }

    /// CloseAndUpdate: closes the write handle and replaces the lists its content names.
    /// Returns ApplyChangesRequired: false, as new secure channels use the new lists at once.
    pub fn close_and_update(&self, session: u32, id: u32) -> Result<bool, CallError> {
        let data = self.handles.take_written(session, id).map_err(|e| file_error(e, 1))?;
        let mut last = self.last_update.lock();
        let (masks, files) = decode_trust_list(&data)?;
        fxgate_pki::replace_trust_list(&self.pki_dir, masks, &files).map_err(|e| {
            tracing::warn!(error = %e, "trust list update refused");
            status_of(&e)
        })?;
        *last = DateTime::now();
        Ok(false)
    }

    fn idle_for_changes(&self) -> Result<parking_lot::MutexGuard<'_, DateTime>, CallError> {
        let last = self.last_update.lock();
        if self.handles.writing() {
            return Err(StatusCode::BadInvalidState.into());
        }
        Ok(last)
    }

    /// AddCertificate: to the trusted list, or (a CA) to the issuer list; not while the file
    /// is open for writing.
    pub fn add_certificate(&self, der: &[u8], trusted: bool) -> Result<(), CallError> {
        let mut last = self.idle_for_changes()?;
        fxgate_pki::add_trust_list_certificate(&self.pki_dir, der, trusted).map_err(|e| {
            tracing::warn!(error = %e, "AddCertificate refused");
            match e {
                TrustListError::NotACertificate { .. } | TrustListError::NotACa { .. } => CallError::Argument { index: 0, count: 2, status: StatusCode::BadCertificateInvalid },
                other => status_of(&other).into(),
            }
        })?;
        *last = DateTime::now();
        Ok(())
    }

    /// RemoveCertificate: by SHA-1 thumbprint, with the CRLs it issued.
    pub fn remove_certificate(&self, thumbprint: &str, trusted: bool) -> Result<(), CallError> {
        let mut last = self.idle_for_changes()?;
        fxgate_pki::remove_trust_list_certificate(&self.pki_dir, thumbprint, trusted).map_err(|e| match e {
            TrustListError::NotFound { .. } => CallError::Argument { index: 0, count: 2, status: StatusCode::BadInvalidArgument },
            other => status_of(&other).into(),
        })?;
        *last = DateTime::now();
        Ok(())
    }

    /// The Size property: the length of the whole list's encoding.
    pub fn size(&self) -> u64 {
        self.content(ALL_LISTS).map_or(0, |d| d.len() as u64)
    }

    /// The OpenCount property.
    pub fn open_count(&self) -> u16 {
        self.handles.count()
    }

    /// The LastUpdateTime property (the start of the process, or the last change made here).
    pub fn last_update(&self) -> DateTime {
        *self.last_update.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_file_rules() {
        let dir = tempfile::tempdir().unwrap();
        let file = TrustListFile::new(dir.path().to_path_buf());
        let r = file.open(1, MODE_READ).unwrap();
        let all = file.read(1, r, 1 << 20).unwrap();
        assert_eq!(decode_trust_list(&all).unwrap(), (ALL_LISTS, TrustListFiles::default()));
        assert_eq!(file.size(), all.len() as u64);
        assert!(file.read(1, r, 10).unwrap().is_empty(), "at the end");
        assert!(matches!(file.read(2, r, 10), Err(CallError::Argument { index: 0, .. })), "another session's handle");
        assert_eq!(file.open(1, MODE_WRITE_ERASE), Err(StatusCode::BadNotWritable.into()), "no writer while a reader is open");
        assert!(matches!(file.open(1, 2), Err(CallError::Argument { .. })));
        file.close(1, r).unwrap();

        let w = file.open(1, MODE_WRITE_ERASE).unwrap();
        assert_eq!(file.open(2, MODE_READ), Err(StatusCode::BadNotReadable.into()));
        assert_eq!(file.add_certificate(b"x", true), Err(StatusCode::BadInvalidState.into()));
        file.write(1, w, &all[..3]).unwrap();
        file.write(1, w, &all[3..]).unwrap();
        assert_eq!(file.position(1, w).unwrap(), all.len() as u64);
        assert_eq!(file.close_and_update(1, w), Ok(false));
        assert_eq!(file.open_count(), 0);

        let w = file.open(1, MODE_WRITE_ERASE).unwrap();
        file.write(1, w, b"\x0f\x00").unwrap();
        assert_eq!(file.close_and_update(1, w), Err(StatusCode::BadDecodingError.into()));
        assert_eq!(file.open_count(), 0, "closed even when refused");
        assert!(matches!(file.remove_certificate("00", true), Err(CallError::Argument { index: 0, .. })));
    }
}
