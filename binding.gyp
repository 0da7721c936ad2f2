# A stub so that node-gyp, prebuildify and @electron/rebuild recognise a native module.
# The real build is CMakeLists.txt (via cmake-js); this target only runs it and copies the
# result to node-gyp's output folder. Keep build options in CMake, never here.
{
  "targets": [
    {
      "target_name": "lora_gguf",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/lora_gguf.node"],
          "action": ["node", "scripts/build-native.mjs", "--copy-to", "<(PRODUCT_DIR)"]
        }
      ]
    }
  ]
}
