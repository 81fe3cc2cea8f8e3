# nixca built by nixpkgs' buildNpmPackage. With flakes: `nix build` (flake.nix); without:
#   pkgs.callPackage ./package.nix { }
# Dependencies come from package-lock.json through importNpmLock: each tarball is fetched with
# the integrity hash the lock file already records, so there is no npmDepsHash to keep in sync.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_22,
  makeWrapper,
}:
let
  packageJson = lib.importJSON ./package.json;
  # What `npm run build` (tsc) and the installed package need, and nothing else: no tests,
  # benchmarks, docs, state directories (nixca-state/, .nixca-dev/), dist/ or node_modules/.
  # A change to any other file does not rebuild the package.
  src = lib.fileset.toSource {
    root = ./.;
    fileset = lib.fileset.unions [
      ./package.json
      ./package-lock.json
      ./tsconfig.json
      ./cli
      ./src
      # nix-module/node.nix is read by `nixca nixos emit`; the issuer module ships for reference.
      ./nix-module
    ];
  };
in
buildNpmPackage {
  pname = packageJson.name;
  inherit (packageJson) version;
  inherit src;
  nodejs = nodejs_22;

  npmDeps = importNpmLock {
    package = packageJson;
    packageLock = lib.importJSON ./package-lock.json;
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  nativeBuildInputs = [ makeWrapper ];

  # npmInstallHook wraps bin/nixca as `node main.js`; node and V8 flags must come before the
  # script, so the wrapper is written again with the flags the issuer's memory profile is tuned
  # for (docs/performance.md "Memory"), on every run of the CLI and the service alike: a 4 MB
  # semi-space, and one V8 worker thread (the optimizing compiles V8 runs on its workers at start
  # leave several MB of compiler memory resident per worker).
  postInstall = ''
    rm "$out/bin/nixca"
    makeWrapper ${lib.getExe nodejs_22} "$out/bin/nixca" \
      --add-flags "--max-semi-space-size=4 --v8-pool-size=1 $out/lib/node_modules/${packageJson.name}/dist/cli/main.js"
  '';

  passthru = {
    inherit src;
  };

  meta = {
    description = packageJson.description;
    license = lib.licenses.mit;
    mainProgram = "nixca";
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
