#include "trainer/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "core/safetensors.h"

namespace actsparse::trainer {
namespace {

torch::Tensor string_tensor(const std::string& s) {
    torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
    if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
    return t;
}

std::string tensor_string(const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kCPU).contiguous();
    return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()),
                       static_cast<size_t>(c.numel()));
}

void load_module_checked(torch::nn::Module& m, torch::serialize::InputArchive& a,
                         const std::string& prefix, const std::string& where) {
    torch::NoGradGuard no_grad;
    auto load_one = [&](const std::string& key, torch::Tensor& dst, bool is_buffer) {
        torch::Tensor t;
        if (!a.try_read(key, t, is_buffer))
            throw core::InputError(where, "no tensor " + prefix + key +
                                              " (a checkpoint of another network or width?)");
        if (t.sizes() != dst.sizes())
            throw core::InputError(where, "tensor " + prefix + key + " has shape " +
                                              c10::str(t.sizes()) + ", the model needs " +
                                              c10::str(dst.sizes()));
        dst.copy_(t);
    };
    for (auto& p : m.named_parameters(/*recurse=*/false)) load_one(p.key(), p.value(), false);
    for (auto& b : m.named_buffers(/*recurse=*/false)) load_one(b.key(), b.value(), true);
    for (const auto& c : m.named_children()) {
        torch::serialize::InputArchive sub;
        if (!a.try_read(c.key(), sub))
            throw core::InputError(
                where, "no module " + prefix + c.key() + " (a checkpoint of another network?)");
        load_module_checked(*c.value(), sub, prefix + c.key() + ".", where);
    }
}

}  // namespace

void save_checkpoint(const std::string& path, GraphNet& model, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& meta, int cuda_device) {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model->save(model_archive);
    archive.write("model", model_archive);
    if (optimizer != nullptr) {
        torch::serialize::OutputArchive opt_archive;
        optimizer->save(opt_archive);
        archive.write("optimizer", opt_archive);
    }
    archive.write("meta", string_tensor(meta.dump()));
    {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        archive.write("rng_cpu", gen.get_state());
    }
    if (cuda_device >= 0) {
        auto gen = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, cuda_device));
        std::lock_guard<std::mutex> lock(gen.mutex());
        archive.write("rng_cuda", gen.get_state());
    }
    // Serialised in memory, then written by the one durable writer (unique temporary name,
    // fsync, rename, folder fsync): a kill at any moment leaves the previous checkpoint or
    // this one, and a full disk is an IoError naming the path.
    std::string bytes;
    archive.save_to([&bytes](const void* data, size_t n) {
        bytes.append(static_cast<const char*>(data), n);
        return n;
    });
    core::write_file_atomic(path, bytes);
    // Temporary files of earlier processes killed mid-write (each as large as a checkpoint).
    core::remove_stale_temps(path);
}

namespace {

torch::serialize::InputArchive open_archive(const std::string& path, const torch::Device& device) {
    if (!std::filesystem::is_regular_file(path))
        throw core::InputError(path, "no such checkpoint file");
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path, device);
    } catch (const c10::Error& e) {
        throw core::InputError(
            path, std::string("not a readable checkpoint: ") + e.what_without_backtrace());
    }
    return archive;
}

nlohmann::json meta_of(torch::serialize::InputArchive& archive, const std::string& path) {
    torch::Tensor t;
    if (!archive.try_read("meta", t)) throw core::InputError(path, "checkpoint has no meta");
    try {
        nlohmann::json j = nlohmann::json::parse(tensor_string(t));
        if (j.value("schema", "") != "actsparse.checkpoint/1")
            throw core::InputError(path + ": meta.schema", "not actsparse.checkpoint/1");
        return j;
    } catch (const nlohmann::json::exception& e) {
        throw core::InputError(path + ": meta", std::string("bad JSON: ") + e.what());
    }
}

}  // namespace

namespace {

nlohmann::json safetensors_meta(const core::SafetensorsHeader& h, const std::string& path) {
    const auto m = h.metadata.find("meta");
    if (m == h.metadata.end()) throw core::InputError(path + ": __metadata__.meta", "missing");
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(m->second);
    } catch (const nlohmann::json::exception& e) {
        throw core::InputError(path + ": __metadata__.meta", std::string("bad JSON: ") + e.what());
    }
    // (value() would throw json::type_error for a schema that is not a string: a fuzz finding)
    const auto schema = meta.is_object() ? meta.find("schema") : meta.end();
    if (schema == meta.end() || !schema->is_string() ||
        schema->get<std::string>() != "actsparse.checkpoint/1")
        throw core::InputError(path + ": __metadata__.meta.schema", "not actsparse.checkpoint/1");
    return meta;
}

bool is_safetensors_path(const std::string& path) {
    const std::string ext = ".safetensors";
    return path.size() >= ext.size() &&
           path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

nlohmann::json load_safetensors_weights(const std::string& path, GraphNet& model,
                                        const torch::Device& device) {
    const std::string blob = core::read_file(path);
    const core::SafetensorsHeader h = core::parse_safetensors(blob, path);
    const nlohmann::json meta = safetensors_meta(h, path);
    torch::NoGradGuard no_grad;
    auto load_one = [&](const std::string& key, torch::Tensor& dst) {
        const core::SafetensorsEntry* e = h.find(key);
        if (e == nullptr)
            throw core::InputError(path,
                                   "no tensor " + key + " (weights of another network or width?)");
        if (!std::equal(e->shape.begin(), e->shape.end(), dst.sizes().begin(), dst.sizes().end()))
            throw core::InputError(path, "tensor " + key + " has shape " +
                                             c10::str(torch::IntArrayRef(e->shape)) +
                                             ", the model needs " + c10::str(dst.sizes()));
        const auto dtype = e->dtype == "F32"   ? torch::kFloat32
                           : e->dtype == "I64" ? torch::kInt64
                                               : torch::kFloat64;
        if (e->dtype != "F32" && e->dtype != "I64")
            throw core::InputError(
                path, "tensor " + key + " has dtype " + e->dtype + " (expected F32 or I64)");
        torch::Tensor src = torch::empty(e->shape, torch::TensorOptions().dtype(dtype));
        std::memcpy(src.data_ptr(), blob.data() + h.buffer_offset + e->begin, e->end - e->begin);
        dst.copy_(src.to(device));
    };
    for (auto& p : model->named_parameters(true)) load_one(p.key(), p.value());
    for (auto& b : model->named_buffers(true)) load_one(b.key(), b.value());
    return meta;
}

}  // namespace

nlohmann::json read_checkpoint_meta(const std::string& path) {
    if (is_safetensors_path(path)) {
        const std::string blob = core::read_file(path);
        return safetensors_meta(core::parse_safetensors(blob, path), path);
    }
    auto archive = open_archive(path, torch::kCPU);
    return meta_of(archive, path);
}

void save_weights_safetensors(const std::string& path, GraphNet& model,
                              const nlohmann::json& meta) {
    std::vector<core::SafetensorsTensor> tensors;
    auto add = [&](const std::string& name, const torch::Tensor& t) {
        const bool is_int = t.scalar_type() == torch::kInt64;
        const torch::Tensor c =
            t.detach().to(torch::kCPU, is_int ? torch::kInt64 : torch::kFloat32).contiguous();
        core::SafetensorsTensor st;
        st.name = name;
        st.dtype = is_int ? "I64" : "F32";
        st.shape.assign(c.sizes().begin(), c.sizes().end());
        st.data.assign(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
        tensors.push_back(std::move(st));
    };
    for (const auto& p : model->named_parameters(true)) add(p.key(), p.value());
    for (const auto& b : model->named_buffers(true)) add(b.key(), b.value());
    // Wider dtypes first keeps every tensor naturally aligned.
    std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
        return a.dtype == "I64" && b.dtype != "I64";
    });
    core::write_file_atomic(path, core::encode_safetensors({{"meta", meta.dump()}}, tensors));
}

nlohmann::json load_checkpoint(const std::string& path, GraphNet& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng,
                               const torch::Device& device) {
    if (is_safetensors_path(path)) {
        if (optimizer != nullptr)
            throw core::InputError(path, "a weights-only file has no optimizer state to resume");
        (void)restore_rng;
        return load_safetensors_weights(path, model, device);
    }
    auto archive = open_archive(path, device);
    nlohmann::json meta = meta_of(archive, path);
    torch::serialize::InputArchive model_archive;
    if (!archive.try_read("model", model_archive))
        throw core::InputError(path, "checkpoint has no model");
    load_module_checked(*model, model_archive, "", path);
    if (optimizer != nullptr) {
        torch::serialize::InputArchive opt_archive;
        if (!archive.try_read("optimizer", opt_archive))
            throw core::InputError(path, "checkpoint has no optimizer state");
        try {
            optimizer->load(opt_archive);
        } catch (const c10::Error& e) {
            throw core::InputError(
                path, std::string("optimizer state does not fit: ") + e.what_without_backtrace());
        }
    }
    if (restore_rng) {
        torch::Tensor state;
        if (archive.try_read("rng_cpu", state)) {
            auto gen = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(state.to(torch::kCPU));
        }
        if (device.is_cuda() && archive.try_read("rng_cuda", state)) {
            auto gen = at::globalContext().defaultGenerator(device);
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(state.to(torch::kCPU));
        }
    }
    return meta;
}

std::string resolve_checkpoint_path(const std::string& file_or_run) {
    namespace fs = std::filesystem;
    if (fs::is_directory(file_or_run)) {
        const fs::path ckpt = fs::path(file_or_run) / "checkpoint.pt";
        const fs::path weights = fs::path(file_or_run) / "model.safetensors";
        if (!fs::exists(ckpt) && fs::exists(weights)) return weights.string();
        return ckpt.string();
    }
    return file_or_run;
}

}  // namespace actsparse::trainer
