-- CUDA images only with a --name, so admins can find them.
hooks.run = function(request, caller)
	if request.args[1]:find("^nvidia/cuda:") then
		for _, o in ipairs(request.options) do
			if o.name == "--name" then return end
		end
		deny("nvidia/cuda images need a --name (" .. caller.user_name .. ")")
	end
end
