#pragma once
/// @file Timeloop problem files (versions 0.3 and 0.4) as layer shapes and networks.
///
/// A problem file describes one convolution in `problem.instance` (C, M, R, S, N, P, Q,
/// strides, dilations; optionally H, W, G). Names map one to one onto LayerShape's: R and P
/// go with H and Hstride, S and Q with W and Wstride (as pytorch2timeloop writes them).
/// Timeloop's problem has no padding: when H and W are absent they are derived as the input
/// footprint (P - 1) * Hstride + R (docs/formats.md, "Timeloop problem files").
#include <string>
#include <vector>

#include "core/network.h"
#include "core/shape.h"

namespace actsparse::core {

/// One layer from a Timeloop problem file. Throws InputError naming the file and the key
/// (`f.yaml: problem.instance.Hdilation: ...`) on anything it cannot represent.
LayerShape read_timeloop_problem(const std::string& path);

/// True when `text` names a problem file (ends in .yaml or .yml) rather than a shape spec.
bool is_timeloop_problem_path(const std::string& text);

/// The problem files (*.yaml, *.yml) of a folder in name order, digits compared as numbers
/// (`VGG02_layer2` before `VGG02_layer10`). Throws InputError(dir, ...) when it is not a
/// folder or holds none.
std::vector<std::string> timeloop_problem_files(const std::string& dir);

/// A folder of problem files as a network (NetSource::kLayerList): one conv layer per file in
/// timeloop_problem_files() order, named by the file's stem; the network is named by the
/// folder. See layer_list_network().
Network timeloop_network(const std::string& dir);

}  // namespace actsparse::core
