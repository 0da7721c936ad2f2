module lora-gguf/ollama-template

go 1.19
