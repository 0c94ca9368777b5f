-- The example scripts run with bin/th in short configurations: they train (the loss falls, the accuracy is well
-- above chance), write what they promise (fashion_cnn's weights load back into a state dict, its loss curve is an
-- SVG line chart), fall back to the bundled digits without Fashion-MNIST, and refuse bad arguments.
-- The full-length runs and their accuracy targets are measured by hand (see the README's Examples section).
local torch = require 'tensor'

local ROOT = io.popen('pwd'):read('*l')
local TH = ROOT .. '/bin/th'
local FASHION = '/usr/share/datasets/fashion-mnist'

local shell = require 'helpers.shell'
local quote, read = shell.quote, shell.read

local tmpdir
setup(function() tmpdir = shell.temp_dir('examples_spec') end)
teardown(function() if tmpdir then shell.remove(tmpdir) end end)

-- Runs examples/<script> with the argument string; returns { out = stdout and stderr, rc = exit status }.
local function run(script, args)
  return shell.run(tmpdir, string.format('%s %s %s', quote(TH), quote(ROOT .. '/examples/' .. script), args or ''))
end

local function has_fashion()
  return read(FASHION .. '/train-images-idx3-ubyte.gz') ~= nil or read(FASHION .. '/train-images-idx3-ubyte') ~= nil
end

describe('examples/digits_mlp.lua', function()
  it('trains the MLP on the bundled digits and reports the test accuracy', function()
    local r = run('digits_mlp.lua', '5 3')
    assert.are.equal(0, r.rc, r.out)
    local acc = tonumber(r.out:match('test accuracy ([%d.]+)%% after 5 epochs'))
    assert.is_truthy(acc, r.out)
    assert.is_true(acc > 85, r.out)
    local first = tonumber(r.out:match('epoch   1   loss ([%d.]+)'))
    local last = tonumber(r.out:match('epoch   5   loss ([%d.]+)'))
    assert.is_true(first and last and last < first / 2, r.out)
  end)
end)

describe('examples/fashion_cnn.lua', function()
  it('--quick trains on Fashion-MNIST, saves weights that load back, and draws the loss curve', function()
    if not has_fashion() then
      error('Fashion-MNIST is not installed in ' .. FASHION .. ' (apt-get install dataset-fashion-mnist; setup.sh does)')
    end
    local r = run('fashion_cnn.lua', '--quick --out=' .. quote(tmpdir))
    assert.are.equal(0, r.rc, r.out)
    assert.matches('Fashion%-MNIST: 4000 training and 1000 test images of 28x28 pixels', r.out)
    assert.matches('ETA', r.out) -- the progress bar
    assert.matches('images/s', r.out)
    local acc = tonumber(r.out:match('test accuracy ([%d.]+)%% after 1 epoch'))
    assert.is_true(acc ~= nil and acc > 60, r.out)
    assert.matches('reloaded: max difference 0', r.out)

    local sd = torch.load(tmpdir .. '/fashion_cnn.t7')
    assert.are.same({ 16, 1, 3, 3 }, sd['0.weight']:shape())
    assert.are.same({ 32, 16, 3, 3 }, sd['4.weight']:shape())
    assert.are.same({ 128, 32 * 7 * 7 }, sd['9.weight']:shape())
    assert.are.same({ 10, 128 }, sd['11.weight']:shape())
    assert.is_truthy(sd['2.running_mean'])

    local svg = read(tmpdir .. '/fashion_cnn_loss.svg')
    assert.is_truthy(svg)
    assert.matches('^<svg xmlns="http://www.w3.org/2000/svg"', svg)
    assert.matches('</svg>\n$', svg)
    assert.matches('Fashion%-MNIST CNN: loss', svg)
    local points = svg:match('<polyline fill="none" stroke="[^"]+" stroke%-width="2" points="([^"]+)"')
    assert.is_truthy(points)
    local n = select(2, points:gsub('[%d.]+,[%d.]+', ''))
    assert.is_true(n >= 20, 'the training curve has ' .. n .. ' points')
    -- the SVG is well-formed XML
    local check = io.popen('/usr/bin/python3 -c "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])" '
                           .. quote(tmpdir .. '/fashion_cnn_loss.svg') .. ' 2>&1; echo rc=$?')
    local out = check:read('*a')
    check:close()
    assert.matches('rc=0', out)
  end)

  it('falls back to the bundled digits, saying how to install the dataset, when it is missing', function()
    local r = run('fashion_cnn.lua', '--data=/nonexistent --epochs=2 --out=' .. quote(tmpdir .. '/digits.t7'))
    assert.are.equal(0, r.rc, r.out)
    assert.matches('Fashion%-MNIST was not found', r.out)
    assert.matches('apt%-get install dataset%-fashion%-mnist', r.out)
    assert.matches('digits %(8x8, bundled%): 1438 training and 359 test images', r.out)
    local acc = tonumber(r.out:match('test accuracy ([%d.]+)%% after 2 epochs'))
    assert.is_true(acc ~= nil and acc > 80, r.out)
    assert.are.same({ 128, 32 * 2 * 2 }, torch.load(tmpdir .. '/digits.t7')['9.weight']:shape())
    assert.is_truthy(read(tmpdir .. '/digits_loss.svg'))
  end)

  it('refuses unknown options and bad values with exit status 2', function()
    local r = run('fashion_cnn.lua', '--bogus')
    assert.are.equal(2, r.rc)
    assert.matches('unknown option %-%-bogus', r.out)
    r = run('fashion_cnn.lua', '--epochs=0')
    assert.are.equal(2, r.rc)
    assert.matches('%-%-epochs must be a positive integer, got 0', r.out)
  end)
end)

describe('examples/char_lstm.lua', function()
  it('trains the character LSTM (the held-out loss falls) and samples text from the prime', function()
    local r = run('char_lstm.lua', '--steps=40 --hidden=32 --seq-len=32 --length=60')
    assert.are.equal(0, r.rc, r.out)
    local before = tonumber(r.out:match('before training: held%-out loss ([%d.]+)'))
    local after
    for v in r.out:gmatch('held%-out ([%d.]+)') do after = tonumber(v) end
    assert.is_true(before ~= nil and after ~= nil and after < before - 0.5, r.out)
    local sample = r.out:match('%-%-%-%- a sample at temperature 0.7 %-%-%-%-\n(.*)$')
    assert.is_truthy(sample, r.out)
    assert.matches('^MARCIUS:', sample)
    assert.is_true(#sample >= 60 + #'MARCIUS:', r.out)
  end)

  it('refuses unknown arguments', function()
    local r = run('char_lstm.lua', '--bogus=1')
    assert.are.equal(2, r.rc)
    assert.matches('unknown argument %-%-bogus=1', r.out)
  end)
end)

describe('examples/distributed_digits.lua', function()
  it('trains on 2 ranks under mpirun as on 1 process, the replicas identical', function()
    if os.execute('command -v mpirun > /dev/null 2>&1') ~= 0 then
      error('mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev; setup.sh does)')
    end
    -- root in CI containers, two ranks on however many cores, and no CMA single copy (see distributed_spec)
    local two = shell.run(tmpdir, 'OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root ' ..
                          '--oversubscribe -np 2 ' .. quote(TH) .. ' ' ..
                          quote(ROOT .. '/examples/distributed_digits.lua') .. ' 5', 120)
    assert.are.equal(0, two.rc, two.out)
    assert.matches('2 ranks, batches of 32 per rank %(64 in all%)', two.out)
    assert.matches('replicas identical on 2 ranks: yes', two.out)
    local _, lines = two.out:gsub('epoch   5 ', '')
    assert.are.equal(1, lines, 'only rank 0 prints: ' .. two.out)
    local acc = tonumber(two.out:match('test accuracy ([%d.]+)%% after 5 epochs'))
    assert.is_true(acc ~= nil and acc > 85, two.out)
    local first = tonumber(two.out:match('epoch   1   loss ([%d.]+)'))
    local last = tonumber(two.out:match('epoch   5   loss ([%d.]+)'))
    assert.is_true(first and last and last < first / 2, two.out)
    -- one process with batches of 64 sees the same samples per step: the same losses, to rounding
    local one = run('distributed_digits.lua', '5')
    assert.are.equal(0, one.rc, one.out)
    assert.matches('1 rank, batches of 64 per rank %(64 in all%)', one.out)
    local one_last = tonumber(one.out:match('epoch   5   loss ([%d.]+)'))
    assert.is_true(one_last ~= nil and math.abs(one_last - last) <= 2e-4, one.out .. '\n' .. two.out)
  end)
end)
