"""An independent plain-PyTorch reference of PyTorch Geometric's GATv2Conv (and of the trainer's
default network), for the parity test of the C++ layer. No PyG here: the formula is written out
from torch_geometric/nn/conv/gatv2_conv.py and torch_geometric/utils/softmax.py.

  check <file> <out>   C++ wrote <file> (torch::pickle_save of a dict): recompute every case here,
                       compare outputs, attention and gradients, print a line per case, exit 1 on a
                       mismatch.
  make <file>          write cases computed here for the C++ side to check.
  net <file>           <file> holds a trained network's weights and inputs: print its probabilities.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import sys
import torch
import torch.nn.functional as F


def gatv2(p, pre, x, ei, ea, o):
    """p: name -> tensor; pre: name prefix; o: options dict. Returns (out, alpha, edges)."""
    H, C, N = o["heads"], o["out"], x.shape[0]
    xl = (x @ p[pre + "lin_l.weight"].T + (p[pre + "lin_l.bias"] if pre + "lin_l.bias" in p else 0)).reshape(N, H, C)
    if o["share"]:
        xr = xl
    else:
        xr = (x @ p[pre + "lin_r.weight"].T + (p[pre + "lin_r.bias"] if pre + "lin_r.bias" in p else 0)).reshape(N, H, C)
    src, dst = ei[0], ei[1]
    if o["self_loops"]:
        keep = src != dst
        src, dst = src[keep], dst[keep]
        if ea is not None:
            ea = ea[keep]
            if o["fill_mean"]:
                # scatter mean over the targets; nodes without in-edges get 0
                total = torch.zeros(N, ea.shape[1], dtype=ea.dtype).scatter_add(0, dst[:, None].expand(-1, ea.shape[1]), ea)
                count = torch.bincount(dst, minlength=N).to(ea.dtype).clamp(min=1)
                fill = total / count[:, None]
            else:
                fill = torch.full((N, ea.shape[1]), o["fill_value"], dtype=ea.dtype)
            ea = torch.cat([ea, fill])
        loops = torch.arange(N)
        src, dst = torch.cat([src, loops]), torch.cat([dst, loops])
    z = xr[dst] + xl[src]
    if ea is not None and pre + "lin_edge.weight" in p:
        z = z + (ea @ p[pre + "lin_edge.weight"].T).reshape(-1, H, C)
    z = F.leaky_relu(z, 0.2)
    logit = (z * p[pre + "att"]).sum(-1)
    # softmax per target: exp(logit - max) / (sum + 1e-16), the max detached
    m = torch.full((N, H), float("-inf"), dtype=logit.dtype).scatter_reduce(0, dst[:, None].expand(-1, H), logit.detach(), "amax")
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    e = (logit - m[dst]).exp()
    s = torch.zeros(N, H, dtype=e.dtype).scatter_add(0, dst[:, None].expand(-1, H), e) + 1e-16
    alpha = e / s[dst]
    msg = xl[src] * alpha[..., None]
    out = torch.zeros(N, H, C, dtype=msg.dtype).scatter_add(0, dst[:, None, None].expand(-1, H, C), msg)
    out = out.reshape(N, H * C) if o["concat"] else out.mean(1)
    if pre + "res.weight" in p:
        out = out + x @ p[pre + "res.weight"].T
    if pre + "bias" in p:
        out = out + p[pre + "bias"]
    return out, alpha, torch.stack([src, dst])


def net(p, x, ei, ea, layers, heads, hidden):
    h = F.elu(x @ p["input_proj.weight"].T + p["input_proj.bias"])
    for k in range(layers):
        o = dict(heads=heads, out=hidden, concat=True, share=False, self_loops=True, fill_mean=True)
        h, _, _ = gatv2(p, f"convs.{k}.", h, ei, ea, o)
        h = F.layer_norm(h, (h.shape[1],), p[f"norms.{k}.weight"], p[f"norms.{k}.bias"], 1e-5)
        h = F.elu(h)
    h = F.elu(h @ p["head.0.weight"].T + p["head.0.bias"])
    return h @ p["head.2.weight"].T + p["head.2.bias"]


def options(t):
    v = t.tolist()
    return dict(heads=int(v[0]), concat=bool(v[1]), edge_dim=int(v[2]), fill_mean=bool(v[3]), fill_value=v[4],
                share=bool(v[5]), residual=bool(v[6]), self_loops=bool(v[7]), inc=int(v[8]), out=int(v[9]))


def run_case(d, c):
    """Recomputes case `c` of dict `d`; returns name -> tensor (out, alpha, grad.*)."""
    o = options(d[c + "opts"])
    x = d[c + "x"].clone().requires_grad_(True)
    ea = d[c + "edge_attr"].clone().requires_grad_(True) if c + "edge_attr" in d else None
    p = {k[len(c) + 6:]: v.clone().requires_grad_(True) for k, v in d.items() if k.startswith(c + "param.")}
    if o["share"]:  # PyG's state dict repeats the shared weights under lin_r
        p["lin_r.weight"] = p["lin_l.weight"]
        if "lin_l.bias" in p:
            p["lin_r.bias"] = p["lin_l.bias"]
    if "net" in c:
        out = net(p, x, d[c + "edge_index"], ea, int(d[c + "net"][0]), int(d[c + "net"][1]), int(d[c + "net"][2]))
        alpha = torch.zeros(1, dtype=out.dtype)
    else:
        out, alpha, _ = gatv2(p, "", x, d[c + "edge_index"], ea, o)
    loss = (out * d[c + "R"]).sum() + (alpha * d[c + "RA"]).sum() if "net" not in c else (out * d[c + "R"]).sum()
    loss.backward()
    r = {"out": out.detach(), "alpha": alpha.detach(), "grad.x": x.grad}
    if ea is not None:
        r["grad.edge_attr"] = ea.grad
    for k, v in p.items():
        if o["share"] and k.startswith("lin_r."):
            continue
        r["grad." + k] = v.grad
    return r


def close(a, b, dtype):
    if dtype == torch.float64:
        return torch.allclose(a, b, rtol=1e-10, atol=1e-10)
    return torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def check(path):
    d = torch.load(path)
    cases = sorted({k.split("/")[0] + "/" for k in d if k.endswith("opts")})
    bad = 0
    for c in cases:
        r = run_case(d, c)
        for k, v in r.items():
            want = d.get(c + "want." + k)
            if want is None:
                print(f"{c}{k}: missing in the C++ file"); bad += 1; continue
            if not close(v, want, want.dtype):
                print(f"{c}{k}: max |diff| {(v - want).abs().max().item():.3g}"); bad += 1
        print(f"{c} compared {len(r)} tensors")
    print(f"python checked {len(cases)} cases, {bad} mismatches")
    return 1 if bad or not cases else 0


def make(path, src):
    """Takes the C++ file's inputs and options, recomputes here, and writes cases with our results
    as the wanted values and fresh inputs perturbed here, for C++ to check."""
    d = torch.load(src)
    cases = sorted({k.split("/")[0] + "/" for k in d if k.endswith("opts")})
    g = torch.Generator().manual_seed(7)
    out = {}
    for c in cases:
        for k, v in d.items():
            if k.startswith(c) and "want." not in k:
                out["py" + k] = v
        # new inputs drawn here, so C++ is checked on values it did not make
        x = d[c + "x"]
        out["py" + c + "x"] = torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype)
        r = run_case(out, "py" + c)
        for k, v in r.items():
            out["py" + c + "want." + k] = v
    torch.save(out, path)
    print(f"python wrote {len(cases)} cases")
    return 0


def probs(weights_path, inputs_path):
    """The trainer's saved weights through this reference network: the test nodes' probabilities
    must equal those the C++ trainer stored."""
    w = torch.load(weights_path)
    assert isinstance(w, dict) and all(isinstance(v, torch.Tensor) for v in w.values()), "not a dict of tensors"
    d = torch.load(inputs_path)
    layers = len({k.split(".")[1] for k in w if k.startswith("convs.")})
    heads = w["convs.0.att"].shape[1]
    hidden = w["convs.0.att"].shape[2]
    with torch.no_grad():
        p = torch.softmax(net(w, d["x"], d["edge_index"], d["edge_attr"], layers, heads, hidden), 1)
    got = p[d["test_nodes"]]
    diff = (got - d["want"]).abs().max().item()
    print(f"python: {len(w)} tensors, {layers} layers x {heads} heads x {hidden}; max |p diff| {diff:.3g}")
    return 0 if diff <= 1e-5 else 1


if __name__ == "__main__":
    if sys.argv[1] == "probs":
        sys.exit(probs(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    if sys.argv[1] == "make":
        sys.exit(make(sys.argv[3], sys.argv[2]))
    sys.exit(2)
