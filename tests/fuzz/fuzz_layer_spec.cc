// libFuzzer: layer spec strings ("C=3,M=64,R=3,S=3,P=32,Q=32,...": core::LayerShape::
// parse_spec); an accepted spec must read back from its own to_spec(). Seeds:
// tests/fuzz/corpus/layer_spec.
#include "core/shape.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return actsparse::fuzz::run_parser("fuzz_layer_spec", [&] {
        using actsparse::core::LayerShape;
        const LayerShape s = LayerShape::parse_spec(actsparse::fuzz::bytes(data, size), "--layer");
        const LayerShape again = LayerShape::parse_spec(s.to_spec(), "round trip");
        if (again.to_spec() != s.to_spec()) std::abort();
    });
}
