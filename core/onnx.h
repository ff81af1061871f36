#pragma once
/// @file ONNX models as network graphs (`--onnx MODEL.onnx`; docs/formats.md, "ONNX models").
///
/// The model is read with libonnx's generated protobuf classes; this header keeps them out of
/// the code that includes it. Shapes come from the weight tensors (initializers, Constant
/// nodes, or graph inputs with a declared type when the model was exported without
/// parameters) and from propagating the image input's C x H x W through the graph; the
/// exporter's value_info is not used. The result is the same op graph the built-in networks
/// are (core/network.h): Conv -> kConv, BatchNormalization -> kBatchNorm, Relu -> kReLU,
/// Clip(0, 6) -> kReLU6, Add/Concat -> kAdd/kConcat, pools, and Gemm / MatMul(+Add) -> a kConv
/// whose filter covers its whole input (1x1 after global pooling), so the classifier is a
/// conv layer the simulator can run.
#include <string>

#include "core/network.h"

namespace actsparse::core {

/// Reads MODEL.onnx; the network is named by the file's stem. Throws InputError on one line:
/// `MODEL.onnx: ...` for a missing or corrupt file, `MODEL.onnx: node 'X' (op Foo): reason`
/// for a node it cannot represent (an unsupported operator, dilation, asymmetric padding, ...).
Network read_onnx_network(const std::string& path);

/// The same from the serialized ModelProto in `bytes`; `where` names it in errors and
/// `name` becomes Network::name.
Network parse_onnx_network(const std::string& bytes, const std::string& where,
                           const std::string& name);

}  // namespace actsparse::core
