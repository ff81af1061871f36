#pragma once
/// @file Trace files: one conv layer's tensors in the safetensors format (8-byte
/// little-endian header length, a JSON header, raw little-endian buffers), so Python reads
/// them with `safetensors` or a few lines of NumPy (docs/formats.md).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/shape.h"

namespace actsparse::core {

struct Trace {
    std::string network;  ///< metadata "network" ("" for a free-standing layer)
    std::string layer;    ///< metadata "layer"
    LayerShape shape;
    int64_t frac_bits = 8;
    std::vector<int16_t> ifmap;      ///< [N, C, H, W] fixed point
    std::vector<int16_t> weight;     ///< [M, C/G, R, S] fixed point
    std::vector<int64_t> ofmap_acc;  ///< [N, M, P, Q] exact accumulators; empty if absent
    std::vector<float> ifmap_float;  ///< optional float copy of the ifmap; empty if absent
    std::map<std::string, std::string> extra;  ///< other metadata, kept on round trip

    /// Fraction of non-zero ifmap values.
    double density() const;
};

/// Serialises to safetensors bytes. ofmap_acc is stored as I32 when every value fits, else
/// I64; the reader accepts both.
std::string encode_trace(const Trace& t);
/// Parses safetensors bytes; any truncation, bad JSON, missing tensor, wrong dtype, shape
/// that disagrees with the metadata, or overlapping/out-of-range offsets throws
/// InputError(where + ": field", reason). Never crashes on corrupt input.
Trace decode_trace(const std::string& bytes, const std::string& where);
void write_trace(const std::string& path, const Trace& t);  ///< atomic
Trace read_trace(const std::string& path);

/// Exact reference convolution in int64 (no rounding, no activation): ofmap[N,M,P,Q].
std::vector<int64_t> reference_conv(const LayerShape& s, const std::vector<int16_t>& ifmap,
                                    const std::vector<int16_t>& weight);

enum class ZeroPattern {
    kUniform,  ///< zeros placed uniformly at random
    kChannel,  ///< whole input channels zero (per image), the rest dense
    kBlock,    ///< square spatial blocks zero, like ReLU maps with dead regions
};
const char* to_string(ZeroPattern p);
ZeroPattern parse_zero_pattern(const std::string& text, const std::string& where);

struct SynthOptions {
    double density = 0.5;  ///< target fraction of non-zero ifmap values, in [0, 1]
    uint64_t seed = 1;
    ZeroPattern pattern = ZeroPattern::kUniform;
    int64_t block = 4;  ///< block edge for kBlock
    /// Fraction of non-zero weights, in [0, 1]. 1 keeps the dense generator (its weights,
    /// drawn triangular on [-0.5, 0.5], are zero by chance about once in 2^frac_bits / 2 + 1);
    /// below 1 exactly that fraction is non-zero (uniform), placed by `weight_pattern` over
    /// the weight tensor seen as [M * C/G kernels, R, S] (channel: whole R x S kernels zero;
    /// block: weight_block-square blocks of a kernel zero), every kept weight non-zero.
    double weight_density = 1.0;
    ZeroPattern weight_pattern = ZeroPattern::kUniform;
    int64_t weight_block = 2;  ///< block edge for a kBlock weight pattern
};

/// A synthetic layer trace: ifmap at the requested density (uniform: exactly
/// round(density * size) non-zeros; structured patterns within one channel/block of it),
/// random non-zero values and weights (at weight_density), ofmap_acc filled from
/// reference_conv.
Trace synth_trace(const LayerShape& s, const SynthOptions& o, int64_t frac_bits = 8);

}  // namespace actsparse::core
