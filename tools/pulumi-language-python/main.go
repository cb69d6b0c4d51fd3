// Command pulumi-language-python is a minimal Python language host for the Pulumi CLI that
// scripts/pulumi-cli builds.
//
// Pulumi's own host is a Go module of its own (sdk/python/cmd/pulumi-language-python/v3) that the Go module
// proxy available to this project does not serve, so it cannot be built from source here. This one covers
// what running a Python project with the CLI needs and nothing more: Run (a program, through the
// pulumi-language-python-exec shim that ships in the sdk/v3 module, installed beside this binary by
// scripts/pulumi-cli), RunPlugin (a provider written in Python), the handshake and the plugin info. Python
// and its virtualenv are resolved by the SDK's own toolchain package from Pulumi.yaml's runtime options, as
// Pulumi's host does. Everything else answers "not implemented" (gRPC Unimplemented), which the CLI reports
// as such: required plugins are not pre-computed (providers load when the program uses them), and
// `pulumi install`, `pulumi about` and code generation are not supported.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The shim exits with this code after it has reported the program's error to the engine itself.
const userActionableExitCode = 32

func main() {
	// The engine passes its logging flags (--logtostderr, -v) to every plugin; glog, which the SDK's
	// packages link in, defines them, so only the tracing endpoint is ours to declare.
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the program")
	flag.Parse()
	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(0)
	}

	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	host := &languageHost{
		engineAddress: engineAddress,
		tracing:       *tracing,
		shim:          filepath.Join(filepath.Dir(self), "pulumi-language-python-exec"),
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fail(err)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Println(handle.Port)
	if err := <-handle.Done; err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	tracing       string
	shim          string
}

// Handshake accepts the engine's handshake; the host needs nothing from it beyond the engine address,
// which it already has from its command line.
func (h *languageHost) Handshake(
	context.Context, *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version the host was built as (the pin, set with -ldflags).
func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// Run executes a Pulumi program with the project's Python, through the SDK's exec shim.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, errors.New("the engine sent no program info (this host needs Pulumi CLI >= v3.100)")
	}
	if _, err := os.Stat(h.shim); err != nil {
		return nil, fmt.Errorf("the exec shim is missing beside the language host: %w", err)
	}
	tc, err := resolveToolchain(info)
	if err != nil {
		return nil, err
	}
	// A stack without config sends nil, which JSON spells `null`; the shim expects an object and a list.
	configMap, secretKeyList := req.GetConfig(), req.GetConfigSecretKeys()
	if configMap == nil {
		configMap = map[string]string{}
	}
	if secretKeyList == nil {
		secretKeyList = []string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(secretKeyList)
	if err != nil {
		return nil, err
	}

	args := []string{"-u", h.shim}
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("project", req.GetProject())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", fmt.Sprintf("%v", req.GetDryRun()))
	flagArg("parallel", fmt.Sprint(req.GetParallel()))
	flagArg("tracing", h.tracing)
	flagArg("organization", req.GetOrganization())
	flagArg("root_directory", info.GetRootDirectory())
	args = append(args, filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint()))
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Environ(), "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == userActionableExitCode:
		// The program's error is already on the engine's diagnostics: stop without adding a second message.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d",
			exitErr.ExitCode())}, nil
	default:
		return nil, fmt.Errorf("could not run %s: %w", cmd.Path, err)
	}
}

// RunPlugin runs a plugin written in Python (its entry point, usually the directory holding __main__.py)
// and streams its output to the engine, which reads the plugin's port from stdout.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	info := req.GetInfo()
	if info == nil {
		return errors.New("the engine sent no plugin program info (this host needs Pulumi CLI >= v3.100)")
	}
	tc, err := resolveToolchain(info)
	if err != nil {
		return err
	}
	entry := filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	cmd, err := tc.Command(server.Context(), append([]string{"-u", entry}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	cmd.Dir = req.GetPwd()
	cmd.Env = append(cmd.Environ(), req.GetEnv()...)
	// os/exec copies stdout and stderr in two goroutines, and a gRPC stream allows one sender at a time.
	var sending sync.Mutex
	send := func(out *pulumirpc.RunPluginResponse) error {
		sending.Lock()
		defer sending.Unlock()
		return server.Send(out)
	}
	cmd.Stdout = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	code := 0
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not run plugin %s: %w", entry, err)
		}
		code = exitErr.ExitCode()
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// streamWriter hands each chunk a process writes to a function that sends it to the engine.
type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	// os/exec reuses its buffer after Write returns and gRPC may still hold the message (stats handlers
	// read it lazily): send a copy.
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter(nil)

// resolveToolchain finds the project's Python the way Pulumi's host does, from Pulumi.yaml's runtime
// options (virtualenv, toolchain: pip/poetry/uv; none means pip with the Python on PATH).
func resolveToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	options := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	raw := map[string]any{}
	if info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	if venv, ok := raw["virtualenv"].(string); ok {
		options.Virtualenv = venv
	}
	switch name, _ := raw["toolchain"].(string); name {
	case "", "pip":
		options.Toolchain = toolchain.Pip
		if name == "" {
			options.Toolchain = toolchain.Auto
		}
	case "poetry":
		options.Toolchain = toolchain.Poetry
	case "uv":
		options.Toolchain = toolchain.Uv
	default:
		return nil, fmt.Errorf("Pulumi.yaml: runtime.options.toolchain is %q; allowed: pip, poetry, uv", name)
	}
	return toolchain.ResolveToolchain(options)
}
