#pragma once
/// @file A small, strict reader and writer of the safetensors container
/// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of JSON header (padded with spaces so the data starts 8-byte aligned), then one
/// byte buffer that the tensors tile exactly, without gaps or overlaps. The reader never
/// trusts a length or an offset: every one is checked against the bytes actually present
/// before anything is allocated, and every defect is an InputError naming the field.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace actsparse::core {

/// Size of one element of a safetensors dtype ("I16" -> 2), bytes; 0 for an unknown dtype.
int64_t safetensors_dtype_bytes(const std::string& dtype);

/// One tensor of a parsed header. Offsets are relative to the data buffer that follows the
/// header, in bytes, as in the format.
struct SafetensorsEntry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    int64_t begin = 0;  ///< first byte in the buffer
    int64_t end = 0;    ///< one past the last byte
    int64_t elements() const;
};

/// A validated header plus where the data buffer starts; the tensor bytes stay in the
/// caller's blob.
struct SafetensorsHeader {
    std::map<std::string, std::string> metadata;  ///< "__metadata__" (all values strings)
    std::vector<SafetensorsEntry> tensors;        ///< sorted by begin offset
    int64_t header_bytes = 0;                     ///< N, the JSON header length incl. padding
    int64_t buffer_offset = 0;                    ///< 8 + N: file offset of the data buffer

    /// The named tensor, or nullptr.
    const SafetensorsEntry* find(const std::string& name) const;
};

/// Parses and validates a safetensors blob: header length within the blob (and at most
/// 100 MB), JSON object header, string-only metadata, known dtypes, non-negative shapes
/// whose byte size fits int64 and equals end - begin, and offsets that tile the buffer
/// exactly up to the end of the blob. Throws InputError(where + ": field", reason).
SafetensorsHeader parse_safetensors(std::string_view blob, const std::string& where);

/// A tensor to write: raw little-endian element bytes of the given dtype and shape.
struct SafetensorsTensor {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::string data;
};

/// Writes a safetensors blob. Tensors are laid out in the given order (put wider dtypes
/// first to keep every tensor naturally aligned). Throws InputError("safetensors: name",
/// reason) when a tensor's data size disagrees with its dtype and shape or a name repeats.
std::string encode_safetensors(const std::map<std::string, std::string>& metadata,
                               const std::vector<SafetensorsTensor>& tensors);

}  // namespace actsparse::core
