#pragma once
/// @file One convolution layer's shape, in Timeloop's dimension names.
#include <cstdint>
#include <string>

namespace actsparse::core {

/// Shape of one conv layer. N batch, C input channels (all groups), M output channels (all
/// groups), R x S filter height x width, P x Q output height x width, H x W input height x
/// width (unpadded). G groups: each group maps C/G input to M/G output channels (depthwise:
/// G = C = M). Strides and padding per axis.
struct LayerShape {
    int64_t N = 1;
    int64_t C = 1;
    int64_t M = 1;
    int64_t R = 1;
    int64_t S = 1;
    int64_t P = 1;
    int64_t Q = 1;
    int64_t H = 0;  ///< 0 until derived by finalize()
    int64_t W = 0;
    int64_t G = 1;
    int64_t Hstride = 1;
    int64_t Wstride = 1;
    int64_t Hpad = 0;
    int64_t Wpad = 0;

    int64_t c_per_group() const { return C / G; }
    int64_t m_per_group() const { return M / G; }
    /// Dense MACs (paper eq. 2): P*Q * C/G * M/G * R*S * N * G.
    int64_t macs() const { return P * Q * c_per_group() * m_per_group() * R * S * N * G; }
    int64_t ifmap_elems() const { return N * C * H * W; }
    int64_t weight_elems() const { return M * c_per_group() * R * S; }
    int64_t ofmap_elems() const { return N * M * P * Q; }

    /// Bytes of the layer's tensors as a trace holds them: 16-bit ifmap and weights, 64-bit
    /// output accumulators. A lower bound on what synthesising or simulating it allocates;
    /// computed in floating point, so it does not overflow for absurd shapes.
    double tensor_bytes() const;

    /// Derives H/W when 0 (the smallest input giving P x Q) and checks every field; throws
    /// InputError(where, reason) naming the offending field, and InputError(where, ...) with
    /// tensor_bytes() when a count (MACs, elements) would overflow 64 bits.
    void finalize(const std::string& where = "layer");

    /// Compact spec, e.g. "C=64,M=64,R=3,S=3,P=32,Q=32,pad=1". Keys: N C M R S P Q H W G
    /// Hstride Wstride Hpad Wpad, and the shorthands stride= and pad= (both axes; a
    /// shorthand and its per-axis key together are an error). Unknown keys are errors.
    static LayerShape parse_spec(const std::string& spec, const std::string& where = "--layer");
    /// The spec string that parse_spec reads back to this shape (all keys explicit).
    std::string to_spec() const;
    /// One layer from a Timeloop problem file, versions 0.3 and 0.4 (read_timeloop_problem in
    /// core/timeloop.h: H and W derived when absent, G per Timeloop, dilation must be 1).
    static LayerShape from_timeloop_yaml(const std::string& path);

    bool operator==(const LayerShape& o) const;
    bool operator!=(const LayerShape& o) const { return !(*this == o); }
};

/// Throws InputError(where, ...) naming the memory the layer needs (tensor_bytes()) when
/// that exceeds this machine's physical memory, so a layer too large is refused before
/// anything is allocated.
void check_fits_in_memory(const LayerShape& s, const std::string& where);

/// "1.2 GiB", "640 B": bytes for messages.
std::string format_bytes(double bytes);

}  // namespace actsparse::core
