/** The OCI image layout as a tar (image-spec image-layout.md): what `save` writes and `load` reads. */
export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT = { imageLayoutVersion: '1.0.0' };
/** the OCI annotation for an image's name in index.json (full references, as podman and skopeo write) */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's (and Docker 25's) annotation for the full name; read first when present */
export const CONTAINERD_NAME = 'io.containerd.image.name';
export const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;
