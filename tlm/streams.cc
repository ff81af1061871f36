#include "tlm/streams.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace actsparse::tlm {

Streams encode_streams(const int16_t* values, int64_t planes, int64_t rows, int64_t width,
                       std::vector<std::pair<int64_t, int64_t>> segments,
                       const SegmentEncoder& encode) {
    Streams st;
    st.rows = rows;
    st.seg = std::move(segments);
    const size_t n = static_cast<size_t>(planes * rows) * st.seg.size();
    st.offset.resize(n);
    st.bytes.resize(n);
    std::vector<std::vector<uint8_t>> enc(n);
    for (int64_t pl = 0; pl < planes; ++pl)
        for (int64_t j = 0; j < static_cast<int64_t>(st.seg.size()); ++j)
            for (int64_t r = 0; r < rows; ++r) {
                const size_t i = st.index(pl, j, r);
                const auto [a, b] = st.seg[static_cast<size_t>(j)];
                enc[i] = encode(values + (pl * rows + r) * width + a, b - a);
                st.offset[i] = st.total;
                st.bytes[i] = enc[i].size();
                st.total += align_up8(st.bytes[i]);
            }
    st.data.assign(st.total, 0);
    for (size_t i = 0; i < n; ++i)
        if (!enc[i].empty()) std::memcpy(st.data.data() + st.offset[i], enc[i].data(), st.bytes[i]);
    return st;
}

StreamSegments stream_segments(const core::LayerShape& s, const GlbTiling& t, const Chunk& any) {
    StreamSegments segs;
    const int64_t strip_q = strip_cols(s, t);
    for (int64_t q0 = 0; q0 < s.Q; q0 += strip_q) {
        Chunk k = any;
        k.q0 = q0;
        k.q1 = std::min(s.Q, q0 + strip_q);
        segs.in.push_back(real_cols(s, k));
        segs.out.emplace_back(k.q0, k.q1);
    }
    return segs;
}

void IfmapLoads::bind(LayerPlan& plan) {
    for (size_t i = 0; i < span_of.size(); ++i)
        plan.chunks[span_of[i].first].ifmap_loads[span_of[i].second].glb = glb[i].data();
}

void IfmapLoads::check(const Streams& in, const int16_t* ifmap, const core::LayerShape& s,
                       const SegmentMatcher& matches, const char* tag) const {
    for (size_t i = 0; i < glb.size(); ++i)
        for (const StreamRef& sr : streams[i]) {
            const auto [a, b] = in.seg[static_cast<size_t>(sr.seg)];
            if (!matches(glb[i].data() + sr.off, in.bytes[sr.stream],
                         ifmap + (sr.plane * s.H + sr.row) * s.W + a, b - a))
                core::model_bug("tlm.dma", "ifmap row " + std::to_string(sr.row) + " of plane " +
                                               std::to_string(sr.plane) +
                                               " arrived corrupted in the GLB" + tag);
        }
}

int64_t plan_ifmap_loads(const core::LayerShape& s, const Chunk& c, size_t k, int64_t seg,
                         const Streams& in, uint64_t ifmap_base, ChunkPlan& cp, IfmapLoads& loads,
                         uint64_t& stream_bytes) {
    const auto [h0, h1] = real_rows(s, c);
    const auto [w0, w1] = real_cols(s, c);
    const int64_t cpg = s.c_per_group();
    int64_t values = 0;
    for (int64_t n = c.n0; n < c.n1; ++n)
        for (int64_t g = c.g0; g < c.g1; ++g)
            for (int64_t ch = c.c0; ch < c.c1; ++ch) {
                const int64_t plane = n * s.C + g * cpg + ch;
                const size_t first = in.index(plane, seg, h0);
                const size_t last = in.index(plane, seg, h1 - 1);
                const uint64_t begin = in.offset[first];
                const uint64_t end = in.offset[last] + in.bytes[last];
                loads.glb.emplace_back(end - begin);
                std::vector<IfmapLoads::StreamRef> refs;
                for (int64_t h = h0; h < h1; ++h) {
                    const size_t i = in.index(plane, seg, h);
                    refs.push_back({i, plane, h, seg, in.offset[i] - begin});
                    stream_bytes += in.bytes[i];
                }
                loads.streams.push_back(std::move(refs));
                cp.ifmap_loads.push_back({ifmap_base + begin, end - begin, nullptr});
                loads.span_of.emplace_back(k, cp.ifmap_loads.size() - 1);
                values += (h1 - h0) * (w1 - w0);
            }
    return values;
}

void plan_ofmap_stores(const core::LayerShape& s, const Chunk& c, int64_t seg, Streams& out,
                       uint64_t ofmap_base, ChunkPlan& cp) {
    const int64_t mpg = s.m_per_group();
    for (int64_t n = c.n0; n < c.n1; ++n)
        for (int64_t g = c.g0; g < c.g1; ++g)
            for (int64_t m = c.m0; m < c.m1; ++m) {
                const int64_t plane = n * s.M + g * mpg + m;
                const size_t first = out.index(plane, seg, c.p0);
                const size_t last = out.index(plane, seg, c.p1 - 1);
                const uint64_t begin = out.offset[first];
                const uint64_t end = out.offset[last] + out.bytes[last];
                cp.ofmap_stores.push_back(
                    {ofmap_base + begin, end - begin, out.data.data() + begin});
            }
}

}  // namespace actsparse::tlm
