"""Field encryption, the keyring, data-key wrapping and blind indexes.

This package does no storage of its own beyond the keyring file: the store decides
where envelopes, wrapped keys and blind-index rows live.
"""

from vault.crypto.blind_index import KINDS, BlindIndexer, recommended_bits
from vault.crypto.envelope import (
    FieldCipher,
    FieldValue,
    decode_value,
    encode_value,
    envelope_key_version,
)
from vault.crypto.keyring import (
    DEFAULT_KDF_PARAMETERS,
    KEYRING_FILE_NAME,
    KdfParameters,
    KeyEncryptionKey,
    Keyring,
    create_development_keyring,
    create_sealed_keyring,
    keyring_path,
    load_keyring,
)
from vault.crypto.wrap import WrappedKey, new_data_key, unwrap_data_key, wrap_data_key

__all__ = [
    "DEFAULT_KDF_PARAMETERS",
    "KEYRING_FILE_NAME",
    "KINDS",
    "BlindIndexer",
    "FieldCipher",
    "FieldValue",
    "KdfParameters",
    "KeyEncryptionKey",
    "Keyring",
    "WrappedKey",
    "create_development_keyring",
    "create_sealed_keyring",
    "decode_value",
    "encode_value",
    "envelope_key_version",
    "keyring_path",
    "load_keyring",
    "new_data_key",
    "recommended_bits",
    "unwrap_data_key",
    "wrap_data_key",
]
