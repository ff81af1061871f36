// The report: markdown, data, the gnuplot script and the figures, or an honest note when
// gnuplot cannot run; nothing half-written is left behind.
#include "calibration/engine/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "fake_sim.h"
#include "test_dir.h"

namespace actsparse::calibration {
namespace {

namespace fs = std::filesystem;

CalibrationResult small_calibration() {
    RunOptions o;
    o.jobs = 2;
    o.context = testing::fake_context();
    return calibrate(testing::small_input(), testing::small_model(), o);
}

std::vector<std::string> temporaries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().string().find(".tmp") != std::string::npos) out.push_back(e.path());
    return out;
}

TEST(Report, DrawsFigure4LikePlotsWithGnuplot) {
    if (!fs::exists("/usr/bin/gnuplot")) GTEST_SKIP() << "no /usr/bin/gnuplot here";
    testing::TempDir dir;
    const auto c = small_calibration();
    ReportOptions o;
    o.gnuplot = "/usr/bin/gnuplot";
    o.calib_json = "calib.json";
    for (const std::string fmt : {"png", "svg"}) {
        o.format = fmt;
        const std::string out = dir / fmt;
        const ReportOutcome r = write_report(c, out, o);
        EXPECT_TRUE(r.figures) << r.message;
        for (int l = 0; l < 4; ++l) {
            const std::string fig = out + "/fig/layer_00" + std::to_string(l) + "." + fmt;
            ASSERT_TRUE(fs::exists(fig)) << fig;
            const std::string head = core::read_file(fig).substr(0, 8);
            if (fmt == "png")
                EXPECT_EQ(head.substr(1, 3), "PNG");
            else
                EXPECT_NE(core::read_file(fig).find("<svg"), std::string::npos);
        }
        EXPECT_TRUE(fs::exists(out + "/fig/validation." + fmt));
        const std::string md = core::read_file(out + "/report.md");
        EXPECT_NE(md.find("# Calibration of fake-net"), std::string::npos);
        EXPECT_NE(md.find("](fig/layer_002." + fmt + ")"), std::string::npos);
        EXPECT_NE(md.find("Mapping changes"), std::string::npos) << "layer 2 switches mapping";
        EXPECT_NE(md.find("| heldout | free | energy |"), std::string::npos);
        EXPECT_TRUE(temporaries(out).empty());
    }
}

TEST(Report, WithoutGnuplotTheDataAndScriptStillArrive) {
    testing::TempDir dir;
    ReportOptions o;
    o.gnuplot = dir / "no-such-gnuplot";
    const ReportOutcome r = write_report(small_calibration(), dir.str(), o);
    EXPECT_FALSE(r.figures);
    EXPECT_NE(r.message.find("could not be run"), std::string::npos) << r.message;
    EXPECT_TRUE(fs::exists(dir / "plot.gp"));
    EXPECT_TRUE(fs::exists(dir / "data/layer_003.dat"));
    const std::string md = core::read_file(dir / "report.md");
    EXPECT_NE(md.find("Not drawn"), std::string::npos);
    EXPECT_TRUE(temporaries(dir.str()).empty());
}

TEST(Report, DataFileHoldsEveryPoint) {
    testing::TempDir dir;
    ReportOptions o;
    o.gnuplot = "";
    const auto c = small_calibration();
    write_report(c, dir.str(), o);
    std::ifstream in(dir / "data/layer_001.dat");
    std::string line;
    size_t rows = 0;
    while (std::getline(in, line))
        if (!line.empty() && line[0] != '#') ++rows;
    EXPECT_EQ(rows, c.layers[1].points.size() + c.layers[1].validation.size());
}

TEST(Report, WithoutValidationSaysSo) {
    if (!fs::exists("/usr/bin/gnuplot")) GTEST_SKIP() << "no /usr/bin/gnuplot here";
    testing::TempDir dir;
    RunOptions ro;
    ro.jobs = 2;
    ro.context = testing::fake_context();
    CalibrationInput in = testing::small_input();
    in.sweep.validate_densities.clear();  // --validate-densities none
    const CalibrationResult c = calibrate(in, testing::small_model(), ro);
    EXPECT_FALSE(c.validated);
    EXPECT_TRUE(c.validation["sets"].empty());
    EXPECT_TRUE(to_json(c)["form_selection"]["validation_mae_pct"].is_null());
    ReportOptions o;
    o.gnuplot = "/usr/bin/gnuplot";
    o.format = "svg";
    const ReportOutcome r = write_report(c, dir.str(), o);
    EXPECT_TRUE(r.figures) << r.message;
    const std::string md = core::read_file(dir / "report.md");
    EXPECT_NE(md.find("No validation was run"), std::string::npos);
    EXPECT_EQ(md.find("| set | form |"), std::string::npos) << "an empty validation table";
    EXPECT_EQ(md.find("mean validation error"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "fig/validation.svg"));
    EXPECT_EQ(core::read_file(dir / "plot.gp").find("validation"), std::string::npos);
    EXPECT_TRUE(temporaries(dir.str()).empty());
    // With validation points the same calibration reports them.
    EXPECT_TRUE(small_calibration().validated);
}

TEST(Report, UnknownFigureFormatIsAnInputError) {
    testing::TempDir dir;
    ReportOptions o;
    o.format = "gif";
    EXPECT_THROW(write_report(small_calibration(), dir.str(), o), core::InputError);
}

}  // namespace
}  // namespace actsparse::calibration
