//! Hard limits on input, so no file or request can exhaust memory or time.
//! Each limit has a name that appears in the error it causes.

/// Input limits. The defaults and the errors they give are documented in docs/limits.md.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `max-file-size`: bytes per file (or stdin).
    pub max_file_size: u64,
    /// `max-documents-per-file`: YAML documents in one file.
    pub max_documents_per_file: usize,
    /// `max-nodes-per-document`: nodes in one document, counting every alias expansion.
    pub max_nodes_per_document: usize,
    /// `max-depth`: nesting of mappings and sequences.
    pub max_depth: usize,
    /// `max-objects`: objects (after flattening Lists) in one file.
    pub max_objects_per_file: usize,
    /// `max-key-length`: bytes of one mapping key (node pointers are made of keys, and a
    /// finding holds the pointer of its node).
    pub max_key_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 64 * 1024 * 1024,
            max_documents_per_file: 100_000,
            max_nodes_per_document: 1_000_000,
            max_depth: 128,
            max_objects_per_file: 100_000,
            max_key_length: 4096,
        }
    }
}
