#pragma once
/// @file The trainer's view of calib.json: the reader lives in core/calibration_file.h (no
/// LibTorch), shared with evaluation; these names keep the trainer's code unchanged.
#include "core/calibration_file.h"

namespace actsparse::trainer {
using core::Calibration;
using core::CalibrationGlobal;
using core::CalibrationLayer;
using core::check_calibration_matches;
using core::load_calibration;
using core::parse_calibration;
}  // namespace actsparse::trainer
