#pragma once
/// @file The calibration report: report.md with the fit and validation tables, and figures
/// like the paper's Fig. 4 (energy and cycles against density per layer, simulated points
/// and both fitted lines) drawn by gnuplot from data files and a script kept in the folder,
/// so a figure can be redrawn or restyled with `gnuplot plot.gp`.
#include <string>

#include "calibration/engine/calibrate.h"

namespace actsparse::calibration {

struct ReportOptions {
    std::string gnuplot = "gnuplot";  ///< executable (looked up in PATH)
    std::string format = "png";       ///< "png" (pngcairo) or "svg"
    std::string calib_json;           ///< path of calib.json, linked from the report
};

struct ReportOutcome {
    bool figures = false;  ///< gnuplot drew every figure
    std::string message;   ///< why not, when it did not
};

/// Writes DIR/report.md, DIR/plot.gp, DIR/data/*.dat and DIR/fig/*.{png,svg}, each atomically.
/// Throws core::InputError when DIR cannot be written or the format is unknown; a missing or
/// failing gnuplot is an outcome (the markdown says so), not an error.
ReportOutcome write_report(const CalibrationResult& c, const std::string& dir,
                           const ReportOptions& opts);

}  // namespace actsparse::calibration
