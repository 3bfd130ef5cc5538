//! [`ObjectAttachmentStore`]: attachment bytes on any `object_store` backend.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use object_store::path::Path;
use object_store::signer::{HeaderName, HeaderValue, Method, SignedUrlOptions, Signer};
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::sniff::{check_content, SNIFF_LEN};
use super::token::{Claims, Purpose, TokenKey};
use super::{
    essence, valid_id, valid_mime, valid_name, AttachmentContent, AttachmentError,
    AttachmentLimits, AttachmentStore, ByteStream, FileUpload, INLINE_IMAGE_TYPES,
};
use crate::store::{RecordKind, Store, StoreError};
use crate::types::{
    Attachment, AttachmentCreateParams, AttachmentUploadDescriptor, FileAttachment,
    ImageAttachment, Timestamp, UploadMethod,
};

/// Parts of a multipart write to a cloud store (S3 needs at least 5 MiB per part but
/// the last); with two parts in flight and one filling, an upload holds about three
/// parts whatever the file's size.
const CLOUD_PART_SIZE: usize = 5 << 20;
/// Parts on local disk, which has no minimum: smaller parts, less memory per upload.
const LOCAL_PART_SIZE: usize = 1 << 20;
const PARTS_IN_FLIGHT: usize = 2;

/// Attachment bytes in an `object_store` backend: the local filesystem (built in, the
/// embedded default), or S3 and S3-compatible servers, Google Cloud Storage and Azure
/// Blob Storage (enable `object_store`'s `aws`, `gcp` or `azure` feature in your own
/// dependency on it and build the store there).
///
/// - **Two-phase uploads** (`attachments.create`): with a [`Signer`] (S3, GCS, Azure)
///   the client gets a presigned `PUT` straight to the bucket, valid for
///   [`AttachmentLimits::ttl`] and bound to the declared `Content-Type`; the size is
///   checked when a message uses the file (presigned `PUT`s cannot bound it). Without
///   one the client `POST`s to this server's upload route with a signed, expiring URL
///   that carries the size limit.
/// - **Direct uploads**: the route streams the multipart `file` field into the
///   backend (multipart writes, never the whole file in memory).
/// - **Previews**: an image's `preview_url` is this server's preview route with a
///   signed token (no expiry: a deleted attachment's URL serves nothing).
/// - Objects are named `<prefix>/<attachment id>`; the id is made here
///   (`atc_` and 32 hex digits) and checked on every route, so no storage path ever
///   comes from a client. File names are metadata only.
///
/// `public_url` is the absolute URL of the ChatKit endpoint as browsers reach it
/// (`https://api.example.com/chatkit`); the upload and preview URLs are made from it.
///
/// ```no_run
/// use std::sync::Arc;
/// use chatkit_agents::store::{AttachmentLimits, ObjectAttachmentStore};
///
/// # fn run() -> Result<(), chatkit_agents::store::AttachmentError> {
/// // Local disk (the signing key is kept in the folder, so URLs survive restarts):
/// let local = ObjectAttachmentStore::local("./data/attachments", "http://localhost:8000/chatkit")?
///     .build();
///
/// // S3 (with `object_store = { version = "0.14", features = ["aws"] }`):
/// # #[cfg(any())] {
/// let s3 = Arc::new(
///     object_store::aws::AmazonS3Builder::from_env().with_bucket_name("chat-uploads").build()?,
/// );
/// let store = ObjectAttachmentStore::builder(s3.clone(), "https://api.example.com/chatkit")
///     .signer(s3) // presigned PUTs straight to the bucket
///     .signing_key(std::env::var("ATTACHMENT_KEY").unwrap()) // the same on every replica
///     .limits(AttachmentLimits::default().allow("image/*", 10 << 20))
///     .build();
/// # }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ObjectAttachmentStore {
    objects: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    public_url: String,
    key: TokenKey,
    limits: AttachmentLimits,
    prefix: Path,
    part_size: usize,
}

/// Configures an [`ObjectAttachmentStore`].
#[derive(Debug)]
pub struct ObjectAttachmentStoreBuilder {
    objects: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    public_url: String,
    key: Option<Vec<u8>>,
    limits: AttachmentLimits,
    prefix: String,
    part_size: usize,
}

impl ObjectAttachmentStoreBuilder {
    /// The size of the parts uploads are written in (default 5 MiB, 1 MiB for
    /// [`ObjectAttachmentStore::local`]): an upload holds about three parts in memory.
    /// S3 refuses parts under 5 MiB (but the last).
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// Hands out presigned `PUT` URLs from `signer` (usually the same S3, GCS or Azure
    /// store) instead of this server's upload route.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The key that signs upload and preview URLs. Give every replica the same one; by
    /// default a random key is made, and URLs of this store then stop working when
    /// the process restarts.
    pub fn signing_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// What uploads may be (default [`AttachmentLimits::default`]).
    pub fn limits(mut self, limits: AttachmentLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The folder of the objects (default `attachments`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The store.
    pub fn build(self) -> ObjectAttachmentStore {
        let key = self.key.unwrap_or_else(random_key);
        ObjectAttachmentStore {
            objects: self.objects,
            signer: self.signer,
            public_url: self.public_url.trim_end_matches('/').to_owned(),
            key: TokenKey::new(key),
            limits: self.limits,
            prefix: Path::from(self.prefix.as_str()),
            part_size: self.part_size,
        }
    }
}

/// 32 random bytes (from two v4 UUIDs: 244 random bits).
fn random_key() -> Vec<u8> {
    let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn backend(error: object_store::Error) -> AttachmentError {
    AttachmentError::backend(error)
}

/// A missing object is an attachment not uploaded (yet, or any more).
fn not_uploaded(id: &str) -> impl FnOnce(object_store::Error) -> AttachmentError + '_ {
    move |error| match error {
        object_store::Error::NotFound { .. } => AttachmentError::NotUploaded { id: id.to_owned() },
        other => backend(other),
    }
}

impl ObjectAttachmentStore {
    /// A store on `objects`, making URLs from `public_url` (the ChatKit endpoint's
    /// absolute URL).
    pub fn builder(
        objects: Arc<dyn ObjectStore>,
        public_url: impl Into<String>,
    ) -> ObjectAttachmentStoreBuilder {
        ObjectAttachmentStoreBuilder {
            objects,
            signer: None,
            public_url: public_url.into(),
            key: None,
            limits: AttachmentLimits::default(),
            prefix: "attachments".into(),
            part_size: CLOUD_PART_SIZE,
        }
    }

    /// A store in the folder `dir` on local disk (created if missing), with the default
    /// limits. Its signing key is kept in `dir/signing.key` (made on first use, readable
    /// by this user only), so upload and preview URLs survive a restart.
    pub fn local(
        dir: impl AsRef<std::path::Path>,
        public_url: impl Into<String>,
    ) -> Result<ObjectAttachmentStoreBuilder, AttachmentError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(AttachmentError::backend)?;
        let key = local_key(&dir.join("signing.key"))?;
        let objects = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(backend)?
            .with_automatic_cleanup(true);
        Ok(Self::builder(Arc::new(objects), public_url)
            .signing_key(key)
            .part_size(LOCAL_PART_SIZE))
    }

    /// Deletes the attachments no message used that were created more than
    /// `older_than` ago (uploaded or not): their metadata from `store`
    /// ([`Store::take_unused_attachments`]), then their bytes here. Returns how many.
    /// Replicas may sweep at once: each attachment is taken by one of them.
    ///
    /// An attachment a message is sending at the very moment of its sweep loses its
    /// bytes (the model is told the file is gone): keep `older_than` far above the
    /// upload URLs' lifetime (hours, not minutes).
    pub async fn sweep_unused<C: Send + Sync>(
        &self,
        store: &dyn Store<C>,
        older_than: Duration,
    ) -> Result<usize, AttachmentError> {
        const BATCH: usize = 100;
        let age = i64::try_from(older_than.as_secs()).unwrap_or(i64::MAX);
        let mut swept = 0;
        loop {
            let cutoff = Timestamp::now().plus_seconds(age.saturating_neg());
            let taken = store.take_unused_attachments(cutoff, BATCH).await?;
            for attachment in &taken {
                if let Err(error) = self.delete_object(attachment.id()).await {
                    tracing::warn!(attachment_id = attachment.id(), %error, "could not delete a swept attachment's bytes");
                }
            }
            swept += taken.len();
            if taken.len() < BATCH {
                return Ok(swept);
            }
        }
    }

    /// Runs [`sweep_unused`](Self::sweep_unused) every `every` (the first right away)
    /// until the task is aborted; failures are logged.
    pub fn spawn_sweeper<C: Send + Sync + 'static>(
        self: Arc<Self>,
        store: Arc<dyn Store<C>>,
        every: Duration,
        older_than: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match self.sweep_unused(&*store, older_than).await {
                    Ok(0) => {}
                    Ok(swept) => tracing::info!(swept, "deleted attachments never sent"),
                    Err(error) => tracing::warn!(%error, "could not sweep unsent attachments"),
                }
            }
        })
    }

    /// The URL the web component's direct upload strategy posts to
    /// (`uploadStrategy: {type: "direct", uploadUrl}`).
    pub fn direct_upload_url(&self) -> String {
        format!("{}/attachments", self.public_url)
    }

    fn location(&self, id: &str) -> Result<Path, AttachmentError> {
        valid_id(id)?;
        Ok(self.prefix.clone().join(id))
    }

    fn preview_url(&self, id: &str, mime_type: &str) -> String {
        let token = self.key.sign(&Claims {
            id: id.to_owned(),
            purpose: Purpose::Preview,
            mime_type: mime_type.to_owned(),
            max_bytes: None,
            expires: None,
        });
        format!("{}/attachments/{id}/preview?token={token}", self.public_url)
    }

    /// The attachment as the client sees it: an image with a preview for the types a
    /// browser shows, a file otherwise.
    fn attachment(
        &self,
        id: String,
        name: String,
        mime_type: String,
        upload_descriptor: Option<AttachmentUploadDescriptor>,
    ) -> Attachment {
        if INLINE_IMAGE_TYPES.contains(&mime_type.as_str()) {
            Attachment::Image(ImageAttachment {
                preview_url: self.preview_url(&id, &mime_type),
                id,
                name,
                mime_type,
                upload_descriptor,
                thread_id: None,
                metadata: None,
            })
        } else {
            Attachment::File(FileAttachment {
                id,
                name,
                mime_type,
                upload_descriptor,
                thread_id: None,
                metadata: None,
            })
        }
    }

    async fn upload_descriptor(
        &self,
        id: &str,
        mime_type: &str,
        limit: u64,
    ) -> Result<AttachmentUploadDescriptor, AttachmentError> {
        let ttl = self.limits.ttl();
        let mut headers = indexmap::IndexMap::new();
        if let Some(signer) = &self.signer {
            let content_type = HeaderValue::from_str(mime_type)
                .map_err(|_| AttachmentError::Invalid(format!("bad MIME type {mime_type:?}")))?;
            let options = SignedUrlOptions::new()
                .with_signed_header(HeaderName::from_static("content-type"), content_type);
            let url = signer
                .signed_url_opts(Method::PUT, &self.location(id)?, ttl, &options)
                .await
                .map_err(backend)?;
            headers.insert("Content-Type".to_owned(), mime_type.to_owned());
            return Ok(AttachmentUploadDescriptor {
                url: url.to_string(),
                method: UploadMethod::Put,
                headers,
            });
        }
        let token = self.key.sign(&Claims {
            id: id.to_owned(),
            purpose: Purpose::Upload,
            mime_type: mime_type.to_owned(),
            max_bytes: Some(limit),
            expires: Some(now_secs().saturating_add(ttl.as_secs().max(1))),
        });
        Ok(AttachmentUploadDescriptor {
            url: format!("{}/attachments/{id}/upload?token={token}", self.public_url),
            method: UploadMethod::Post,
            headers,
        })
    }

    /// Streams `bytes` into the object for `id`, checking the size against `limit` and
    /// the first bytes against `mime_type`; on any failure nothing is left behind.
    async fn write(
        &self,
        id: &str,
        mime_type: &str,
        limit: u64,
        mut bytes: ByteStream,
    ) -> Result<u64, AttachmentError> {
        let location = self.location(id)?;
        let upload = self
            .objects
            .put_multipart(&location)
            .await
            .map_err(backend)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut size = 0u64;
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
        let mut sniffed = false;
        let written: Result<(), AttachmentError> = async {
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(AttachmentError::TooLarge {
                        mime_type: mime_type.to_owned(),
                        limit,
                    });
                }
                if !sniffed {
                    let take = (SNIFF_LEN - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                    if head.len() == SNIFF_LEN {
                        check_content(mime_type, &head)?;
                        sniffed = true;
                    }
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(backend)?;
                // Copied into the part: a body chunk is a slice of the connection's
                // read buffer, which it would keep alive whole for as long as the part
                // waits (measured: 1 GiB uploads grew the server by 24 MiB, not 4).
                writer.write(&chunk);
            }
            if !sniffed {
                check_content(mime_type, &head)?;
            }
            Ok(())
        }
        .await;
        match written {
            Ok(()) => {
                writer.finish().await.map_err(backend)?;
                Ok(size)
            }
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(attachment_id = id, %abort, "could not abort a refused upload");
                }
                Err(error)
            }
        }
    }

    async fn open(
        &self,
        id: &str,
        mime_type: String,
    ) -> Result<AttachmentContent, AttachmentError> {
        let location = self.location(id)?;
        let object = self
            .objects
            .get(&location)
            .await
            .map_err(not_uploaded(id))?;
        let size = object.meta.size;
        let bytes = object
            .into_stream()
            .map(|chunk| chunk.map_err(backend))
            .boxed();
        Ok(AttachmentContent {
            mime_type,
            size,
            bytes,
        })
    }

    /// Deletes the object, refusing `error` (logged if the delete fails too).
    async fn discard(&self, id: &str, error: AttachmentError) -> AttachmentError {
        if let Err(delete) = self.delete_object(id).await {
            tracing::warn!(attachment_id = id, %delete, "could not delete a refused upload");
        }
        error
    }

    async fn delete_object(&self, id: &str) -> Result<(), AttachmentError> {
        match self.objects.delete(&self.location(id)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }
}

/// Reads the hex key in `path`, or makes one there (mode 0600 on Unix).
fn local_key(path: &std::path::Path) -> Result<Vec<u8>, AttachmentError> {
    use std::io::Write;
    // By bytes: a hand-edited file with other characters is an error, not a panic.
    let decode = |text: &str| -> Option<Vec<u8>> {
        let text = text.trim().as_bytes();
        (text.len() >= 32 && text.len().is_multiple_of(2))
            .then(|| {
                text.chunks(2)
                    .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
                    .collect()
            })
            .flatten()
    };
    match std::fs::read_to_string(path) {
        Ok(text) => decode(&text).ok_or_else(|| {
            AttachmentError::backend(format!("{} does not hold a hex key", path.display()))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(hex.as_bytes())
                        .map_err(AttachmentError::backend)?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => local_key(path),
                Err(error) => Err(AttachmentError::backend(error)),
            }
        }
        Err(error) => Err(AttachmentError::backend(error)),
    }
}

#[async_trait]
impl<C: Send + Sync> AttachmentStore<C> for ObjectAttachmentStore {
    async fn create_attachment(
        &self,
        input: &AttachmentCreateParams,
        ctx: &C,
    ) -> Result<Attachment, AttachmentError> {
        valid_name(&input.name)?;
        let mime_type = valid_mime(&input.mime_type)?;
        let limit = self.limits.check(&mime_type, Some(input.size))?;
        let id = self.generate_attachment_id(&mime_type, ctx);
        let descriptor = self.upload_descriptor(&id, &mime_type, limit).await?;
        Ok(self.attachment(id, input.name.clone(), mime_type, Some(descriptor)))
    }

    async fn delete_attachment(
        &self,
        attachment_id: &str,
        _ctx: &C,
    ) -> Result<(), AttachmentError> {
        self.delete_object(attachment_id).await
    }

    /// `atc_` and 32 hex digits: ids name objects, so they must never collide.
    fn generate_attachment_id(&self, _mime_type: &str, _ctx: &C) -> String {
        format!("atc_{}", uuid::Uuid::new_v4().simple())
    }

    fn limits(&self) -> Option<&AttachmentLimits> {
        Some(&self.limits)
    }

    async fn upload_attachment(
        &self,
        upload: FileUpload,
        ctx: &C,
    ) -> Result<Attachment, AttachmentError> {
        valid_name(&upload.name)?;
        let mime_type = valid_mime(&upload.mime_type)?;
        let limit = self.limits.check(&mime_type, None)?;
        let id = self.generate_attachment_id(&mime_type, ctx);
        self.write(&id, &mime_type, limit, upload.bytes).await?;
        Ok(self.attachment(id, upload.name, mime_type, None))
    }

    async fn receive_upload(
        &self,
        attachment_id: &str,
        token: &str,
        bytes: ByteStream,
    ) -> Result<(), AttachmentError> {
        valid_id(attachment_id)?;
        let claims = self
            .key
            .verify(token, attachment_id, Purpose::Upload, now_secs())?;
        let location = self.location(attachment_id)?;
        match self.objects.head(&location).await {
            Ok(_) => {
                return Err(AttachmentError::Conflict(format!(
                    "attachment {attachment_id} is already uploaded"
                )))
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(backend(error)),
        }
        let limit = claims.max_bytes.unwrap_or(0);
        self.write(attachment_id, &claims.mime_type, limit, bytes)
            .await
            .map(drop)
    }

    async fn verify_upload(
        &self,
        attachment: &Attachment,
        _ctx: &C,
    ) -> Result<(), AttachmentError> {
        let id = attachment.id();
        let location = self.location(id)?;
        let meta = self
            .objects
            .head(&location)
            .await
            .map_err(not_uploaded(id))?;
        let mime_type = essence(attachment.mime_type());
        // Presigned uploads bypass the size and content checks of the upload route.
        if let Err(error) = self.limits.check(&mime_type, Some(meta.size)) {
            return Err(self.discard(id, error).await);
        }
        let head_len = meta.size.min(SNIFF_LEN as u64);
        let head = if head_len == 0 {
            bytes::Bytes::new()
        } else {
            self.objects
                .get_range(&location, 0..head_len)
                .await
                .map_err(backend)?
        };
        if let Err(error) = check_content(&mime_type, &head) {
            return Err(self.discard(id, error).await);
        }
        Ok(())
    }

    async fn read_attachment(
        &self,
        attachment: &Attachment,
        _ctx: &C,
    ) -> Result<AttachmentContent, AttachmentError> {
        self.open(attachment.id(), essence(attachment.mime_type()))
            .await
    }

    async fn read_preview(
        &self,
        attachment_id: &str,
        token: &str,
    ) -> Result<AttachmentContent, AttachmentError> {
        valid_id(attachment_id)?;
        let claims = self
            .key
            .verify(token, attachment_id, Purpose::Preview, now_secs())?;
        match self.open(attachment_id, claims.mime_type).await {
            // Deleted (with its thread, or by its owner): the URL serves nothing.
            Err(AttachmentError::NotUploaded { .. }) => {
                Err(StoreError::not_found(RecordKind::Attachment, attachment_id).into())
            }
            other => other,
        }
    }
}
