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

    /// Derives H/W when 0 (the smallest input giving P x Q) and checks every field; throws
    /// InputError(where, reason) naming the offending field.
    void finalize(const std::string& where = "layer");

    /// Compact spec, e.g. "C=64,M=64,R=3,S=3,P=32,Q=32,pad=1". Keys: N C M R S P Q H W G
    /// Hstride Wstride Hpad Wpad, and the shorthands stride= and pad= (both axes; a
    /// shorthand and its per-axis key together are an error). Unknown keys are errors.
    static LayerShape parse_spec(const std::string& spec, const std::string& where = "--layer");
    /// The spec string that parse_spec reads back to this shape (all keys explicit).
    std::string to_spec() const;
    /// One layer from a Timeloop problem YAML file (problem: instance: {C, M, ...}). Padding
    /// and G are read when present (keys Hpad, Wpad, G); Hdilation/Wdilation must be 1.
    static LayerShape from_timeloop_yaml(const std::string& path);

    bool operator==(const LayerShape& o) const;
    bool operator!=(const LayerShape& o) const { return !(*this == o); }
};

}  // namespace actsparse::core
