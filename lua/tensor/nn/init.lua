-- tensor.nn: modules, containers, layers, losses, nn.functional (nn.F), nn.init and nn.utils.
local module = require 'tensor.nn.module'

local nn = {}
nn.Module, nn.Parameter = module.Module, module.Parameter
nn.is_module, nn.is_parameter = module.is_module, module.is_parameter

require('tensor.nn.containers')(nn)
nn.functional = require 'tensor.nn.functional'
nn.F = nn.functional
nn.init = require 'tensor.nn.initializers'
nn.utils = require 'tensor.nn.utils'

for _, family in ipairs({ 'linear', 'conv', 'pooling', 'activation', 'normalization', 'dropout', 'sparse', 'loss', 'rnn',
                        'transformer', 'parallel', 'parameter_containers', 'upsampling', 'cells',
                        'padding', 'fold', 'distance', 'pool_compositions' }) do
  require('tensor.nn.' .. family)(nn)
end

return nn
