// Parity of the C++ GATv2Conv with an independent plain-PyTorch reference of PyG's formula
// (testing/gatv2_reference.py, run with Debian's python3-torch), both directions, over the option
// grid and the whole default network; plus a 3-node case computed by hand.
#include "gatv2.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sf::gnn {
namespace {

using Dict = c10::Dict<std::string, at::Tensor>;

struct Case {
  GATv2Options o;
  std::string name;
};

std::vector<Case> option_grid() {
  std::vector<Case> out;
  int i = 0;
  for (int64_t heads : {1, 4})
    for (bool concat : {true, false})
      for (int64_t edge_dim : {0, 1, 5})
        for (bool fill_mean : {true, false})
          for (bool share : {false, true})
            for (bool residual : {false, true})
              for (bool loops : {true, false}) {
                if (!fill_mean && (edge_dim == 0 || !loops)) continue;  // the same as fill_mean
                GATv2Options o;
                o.in_channels = 3;
                o.out_channels = 2;
                o.heads = heads;
                o.concat = concat;
                o.edge_dim = edge_dim;
                o.fill_mean = fill_mean;
                o.fill_constant = 0.5;
                o.share_weights = share;
                o.residual = residual;
                o.add_self_loops = loops;
                char name[32];
                std::snprintf(name, sizeof name, "case%03d/", i++);
                out.push_back({o, name});
              }
  return out;
}

torch::Tensor opts_tensor(const GATv2Options& o) {
  return torch::tensor({double(o.heads), double(o.concat), double(o.edge_dim), double(o.fill_mean),
                        o.fill_constant, double(o.share_weights), double(o.residual),
                        double(o.add_self_loops), double(o.in_channels), double(o.out_channels)},
                       torch::kFloat64);
}

// 7 nodes: node 6 has no incoming edge, 2 -> 2 is an existing self-loop, 0 -> 1 appears twice.
torch::Tensor test_edges() {
  return torch::tensor(
      {{0, 0, 1, 2, 3, 4, 5, 2, 0, 3, 1, 4, 5}, {1, 1, 2, 2, 2, 3, 4, 5, 5, 0, 0, 1, 3}},
      torch::kInt64);
}

void set_params(GATv2Conv& layer, const Dict& d, const std::string& prefix) {
  torch::NoGradGuard ng;
  for (auto& [name, t] : layer->pyg_state("")) {
    if (layer->options.share_weights && name.rfind("lin_r.", 0) == 0) continue;
    t.copy_(d.at(prefix + "param." + name));
  }
}

// Runs one case in `dtype`: out, attention and every gradient of sum(out * R) + sum(alpha * RA).
std::map<std::string, torch::Tensor> run(GATv2Conv& layer, const torch::Tensor& x0,
                                         const torch::Tensor& ei, const torch::Tensor& ea0,
                                         const torch::Tensor& R, const torch::Tensor& RA) {
  for (auto& p : layer->parameters()) p.mutable_grad() = torch::Tensor();
  torch::Tensor x = x0.clone().requires_grad_(true);
  torch::Tensor ea = ea0.defined() ? ea0.clone().requires_grad_(true) : torch::Tensor();
  torch::Tensor alpha;
  torch::Tensor out = layer->forward(x, ei, ea, &alpha);
  ((out * R).sum() + (alpha * RA).sum()).backward();
  std::map<std::string, torch::Tensor> r{
      {"out", out.detach()}, {"alpha", alpha.detach()}, {"grad.x", x.grad()}};
  if (ea.defined()) r["grad.edge_attr"] = ea.grad();
  for (auto& [name, t] : layer->pyg_state("")) {
    if (layer->options.share_weights && name.rfind("lin_r.", 0) == 0) continue;
    r["grad." + name] = t.grad();
  }
  return r;
}

std::string python(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + std::string(SF_GNN_TESTING_DIR) +
                          "/gatv2_reference.py " + args + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (f && fgets(buf, sizeof buf, f)) out += buf;
  const int st = f ? pclose(f) : -1;
  return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok\n" : "FAILED\n") + out;
}

void save(const Dict& d, const std::string& path) {
  const auto bytes = torch::pickle_save(d);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Dict load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  Dict out;
  for (const auto& e : torch::pickle_load(bytes).toGenericDict()) {
    out.insert(e.key().toStringRef(), e.value().toTensor());
  }
  return out;
}

bool close(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() == torch::kFloat64) return torch::allclose(a, b, 1e-10, 1e-10);
  return torch::allclose(a, b, 1e-5, 1e-6);
}

class Gatv2Parity : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(Gatv2Parity, LayerAndNetworkMatchThePythonReferenceBothWays) {
  torch::manual_seed(1);
  const auto dtype = GetParam();
  const auto tensor_options = torch::TensorOptions().dtype(dtype);
  const auto ei = test_edges();
  const int64_t N = 7, E = ei.size(1);
  Dict d;
  const auto grid = option_grid();
  ASSERT_GE(grid.size(), 100u);
  for (const auto& c : grid) {
    GATv2Conv layer(c.o);
    layer->to(dtype);
    const auto x = torch::randn({N, c.o.in_channels}, tensor_options);
    const auto ea =
        c.o.edge_dim ? torch::randn({E, c.o.edge_dim}, tensor_options) : torch::Tensor();
    {
      torch::NoGradGuard ng;
      for (auto& p : layer->parameters()) p.copy_(torch::randn(p.sizes(), tensor_options));
    }
    const int64_t width = c.o.out_channels * (c.o.concat ? c.o.heads : 1);
    const int64_t edges_used = c.o.add_self_loops ? E - 1 + N : E;  // one self-loop replaced
    const auto R = torch::randn({N, width}, tensor_options);
    const auto RA = torch::randn({edges_used, c.o.heads}, tensor_options);
    auto r = run(layer, x, ei, ea, R, RA);
    d.insert(c.name + "opts", opts_tensor(c.o));
    d.insert(c.name + "x", x);
    d.insert(c.name + "edge_index", ei);
    if (ea.defined()) d.insert(c.name + "edge_attr", ea);
    d.insert(c.name + "R", R);
    d.insert(c.name + "RA", RA);
    for (auto& [name, t] : layer->pyg_state("")) {
      if (c.o.share_weights && name.rfind("lin_r.", 0) == 0) continue;
      d.insert(c.name + "param." + name, t.detach().clone());
    }
    for (auto& [k, v] : r) d.insert(c.name + "want." + k, v);
  }
  // The whole default network (eval: no dropout), on a bigger random graph.
  {
    NetOptions no;
    no.in_features = 6;
    no.edge_dim = 3;
    GnnNet net(no);
    net->to(dtype);
    net->eval();
    const int64_t n = 40, e = 160;
    const auto x = torch::randn({n, no.in_features}, tensor_options).requires_grad_(true);
    const auto ei2 = torch::randint(0, n, {2, e}, torch::kInt64);
    const auto ea = torch::randn({e, no.edge_dim}, tensor_options).requires_grad_(true);
    const auto R = torch::randn({n, no.classes}, tensor_options);
    auto out = net->forward(x, ei2, ea);
    (out * R).sum().backward();
    const std::string c = "net0/";
    d.insert(c + "opts", opts_tensor(GATv2Options{}));
    d.insert(c + "net", torch::tensor({double(no.layers), double(no.heads), double(no.hidden)}));
    d.insert(c + "x", x.detach());
    d.insert(c + "edge_index", ei2);
    d.insert(c + "edge_attr", ea.detach());
    d.insert(c + "R", R);
    d.insert(c + "want.out", out.detach());
    d.insert(c + "want.alpha", torch::zeros({1}, tensor_options));
    d.insert(c + "want.grad.x", x.grad());
    d.insert(c + "want.grad.edge_attr", ea.grad());
    for (auto& [name, t] : net->pyg_state()) {
      d.insert(c + "param." + name, t.detach().clone());
      d.insert(c + "want.grad." + name, t.grad());
    }
  }
  const std::string dir = ::testing::TempDir() + "/sf-gatv2-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string cpp_file = dir + "/cpp.pt", py_file = dir + "/py.pt";
  save(d, cpp_file);

  // C++ -> Python.
  const std::string checked = python("check " + cpp_file);
  EXPECT_EQ(checked.rfind("ok\n", 0), 0u) << checked;
  EXPECT_NE(
      checked.find("python checked " + std::to_string(grid.size() + 1) + " cases, 0 mismatches"),
      std::string::npos)
      << checked;

  // Python -> C++: Python's own results on inputs it drew itself.
  const std::string made = python("make " + cpp_file + " " + py_file);
  ASSERT_EQ(made.rfind("ok\n", 0), 0u) << made;
  const Dict py = load(py_file);
  int compared = 0;
  for (const auto& c : grid) {
    const std::string p = "py" + c.name;
    GATv2Conv layer(c.o);
    layer->to(dtype);
    set_params(layer, py, p);
    const auto ea = c.o.edge_dim ? py.at(p + "edge_attr") : torch::Tensor();
    auto r =
        run(layer, py.at(p + "x"), py.at(p + "edge_index"), ea, py.at(p + "R"), py.at(p + "RA"));
    for (auto& [k, v] : r) {
      const auto want = py.at(p + "want." + k);
      EXPECT_TRUE(close(v, want)) << p << k << ": max |diff| "
                                  << (v - want).abs().max().item<double>();
      ++compared;
    }
  }
  EXPECT_GT(compared, static_cast<int>(grid.size()) * 5);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Gatv2Parity, ::testing::Values(torch::kFloat64, torch::kFloat32));

TEST(Gatv2, ThreeNodesByHand) {
  GATv2Options o;
  o.in_channels = 1;
  o.out_channels = 1;
  o.bias = false;
  o.add_self_loops = false;
  GATv2Conv layer(o);
  layer->to(torch::kFloat64);
  {
    torch::NoGradGuard ng;
    layer->lin_l->weight.fill_(1);
    layer->lin_r->weight.fill_(1);
    layer->att.fill_(1);
  }
  // Edges 0 -> 2 and 1 -> 2; x = (-4, 2, 1). Logits: leaky(1 - 4) = -0.6 and leaky(1 + 2) = 3.
  const auto x = torch::tensor({{-4.0}, {2.0}, {1.0}}, torch::kFloat64);
  const auto ei = torch::tensor({{0, 1}, {2, 2}}, torch::kInt64);
  torch::Tensor alpha;
  const auto out = layer->forward(x, ei, {}, &alpha);
  const double a0 = std::exp(-0.6) / (std::exp(-0.6) + std::exp(3.0)), a1 = 1 - a0;
  EXPECT_NEAR(alpha[0][0].item<double>(), a0, 1e-12);
  EXPECT_NEAR(alpha[1][0].item<double>(), a1, 1e-12);
  EXPECT_NEAR(out[2][0].item<double>(), -4 * a0 + 2 * a1, 1e-12);
  EXPECT_EQ(out[0][0].item<double>(), 0);  // no incoming edge, no self-loop, no bias
  EXPECT_EQ(out[1][0].item<double>(), 0);
}

}  // namespace
}  // namespace sf::gnn
