-- State dicts of nn modules through the three formats: a CNN trained in PyTorch loads into the same
-- tensor.nn model with m:load_state_dict(torch.load('model.pt')) and gives PyTorch's outputs, and a model's
-- m:state_dict() saved as .t7 (binary and ascii) or safetensors loads back into a fresh model exactly.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local ref = require 'helpers.torchref'
local H = require 'helpers.serialization'

local function cnn()
  return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 8, 3, { stride = 2 }),
                       nn.Flatten(), nn.Linear(8 * 2 * 2, 10))
end

describe('nn state dicts', function()
  teardown(H.cleanup)

  it('a CNN trained in PyTorch loads with load_state_dict(torch.load(path)) and gives the same outputs', function()
    local x = torch.randn(5, 1, 8, 8)
    local path = H.path('trained.pt')
    local r = ref.run(string.format([[
      torch.manual_seed(0)
      net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Conv2d(4, 8, 3, stride=2), torch.nn.Flatten(), torch.nn.Linear(8 * 2 * 2, 10))
      opt = torch.optim.SGD(net.parameters(), lr=0.1)
      for _ in range(3):
          opt.zero_grad()
          net(torch.randn(5, 1, 8, 8)).pow(2).mean().backward()
          opt.step()
      net.eval()
      torch.save(net.state_dict(), %q)
      out = {'y': net(x).detach(), 'batches': net[1].num_batches_tracked.item()}
    ]], path), { x = x })
    local m = cnn()
    local missing, unexpected = m:load_state_dict(torch.load(path))
    assert.are.same({}, missing)
    assert.are.same({}, unexpected)
    assert.are.equal(3, m:state_dict()['1.num_batches_tracked']:item())
    assert.are.equal(r.batches, m:state_dict()['1.num_batches_tracked']:item())
    m:eval()
    local ok, msg = ref.compare(m(x):detach(), r.y, { atol = 1e-5, rtol = 1e-5 })
    assert.is_true(ok, msg)
  end)

  it("round-trips m:state_dict() through .t7 (binary and ascii) and safetensors", function()
    local m = cnn()
    m:train()
    m(torch.randn(4, 1, 8, 8)) -- moves the batch norm's running statistics off their defaults
    m:eval()
    local x = torch.randn(3, 1, 8, 8)
    local want = m(x):detach():tolist()
    local saves = {
      t7 = function(path, sd) torch.save(path, sd) end,
      ascii = function(path, sd) torch.save(path, sd, 'ascii') end,
      safetensors = function(path, sd) torch.save_safetensors(path, sd, { format = 'tensor' }) end,
    }
    for name, save in pairs(saves) do
      local path = H.path('state.' .. name)
      save(path, m:state_dict())
      local sd = torch.load(path)
      assert.are.same({}, sd['1.num_batches_tracked']:shape(), name)
      assert.are.equal(1, sd['1.num_batches_tracked']:item(), name)
      local fresh = cnn()
      fresh:load_state_dict(sd)
      fresh:eval()
      assert.are.same(want, fresh(x):detach():tolist(), name)
    end
  end)
end)
