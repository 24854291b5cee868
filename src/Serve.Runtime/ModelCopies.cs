using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace Serve.Runtime;

/// <summary>What describe tells of one loaded copy of a model.</summary>
/// <param name="Device">The device it runs on ("cpu", "cuda:0").</param>
/// <param name="Backend">The backend that loaded it.</param>
/// <param name="Users">How many hold it: workers, and the per-request stage handler, which is given a worker's copy.</param>
/// <param name="ResidentBytes">How much the process's resident memory grew while it loaded (an estimate: other work in the process at the time counts too; device memory is not included).</param>
/// <param name="FileBytes">The size of the model file it was loaded from.</param>
public readonly record struct ModelCopyInfo(string Device, string Backend, int Users, long ResidentBytes, long FileBytes);

/// <summary>
/// The loaded copies of one served model: one per device, shared by every worker on that device
/// when the backend's model is thread-safe (<see cref="IModel.IsThreadSafe"/>: an ONNX Runtime
/// session, a TorchScript module), else one per worker. A copy is disposed when its last user
/// releases it, and the C heap is then trimmed, so scaling down returns the memory.
/// </summary>
public sealed class ModelCopies
{
    private readonly Lock _gate = new();
    private readonly Lock _loading = new();
    private readonly Dictionary<Device, Copy> _shared = [];
    private readonly List<Copy> _all = [];
    private int _loads;

    private sealed class Copy(IModel model, Device device, string reason, long residentBytes, long fileBytes)
    {
        public IModel Model { get; } = model;
        public Device Device { get; } = device;
        public string Reason { get; } = reason;
        public long ResidentBytes { get; } = residentBytes;
        public long FileBytes { get; } = fileBytes;
        public int Users { get; set; } = 1;
    }

    /// <summary>How many times a model file was loaded, over this model's life.</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>The copies held now, for describe.</summary>
    public IReadOnlyList<ModelCopyInfo> Describe()
    {
        lock (_gate)
        {
            var copies = new ModelCopyInfo[_all.Count];
            for (var i = 0; i < copies.Length; i++)
            {
                var copy = _all[i];
                copies[i] = new(copy.Device.ToString(), copy.Model.Backend, copy.Users, copy.ResidentBytes, copy.FileBytes);
            }
            return copies;
        }
    }

    /// <summary>
    /// The copy for <paramref name="context"/>'s device: the shared one when there is one (the
    /// context's device and reason then become the copy's), for the per-request stage handler's
    /// context any copy on its device (it runs no batches; the workers start first, so one is
    /// there), else one <paramref name="load"/> makes.
    /// Loads are one at a time, so a second worker waits for the first's copy instead of loading its own.
    /// </summary>
    public IModel Acquire(HandlerContext context, Func<IModel> load)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(load);
        var requested = context.Device;
        lock (_loading)
        {
            lock (_gate)
            {
                // The per-request stage handler runs no batches: any copy on its device will do, shared or not.
                var shared = _shared.GetValueOrDefault(requested)
                    ?? (context.RunsPerRequestStagesOnly ? _all.Find(copy => copy.Device == requested) : null);
                if (shared is not null)
                {
                    shared.Users++;
                    context.Device = shared.Device;
                    context.DeviceReason = shared.Reason + "; the copy is shared by the model's workers on this device";
                    return shared.Model;
                }
            }

            var residentBefore = Environment.WorkingSet;
            var model = load();
            Interlocked.Increment(ref _loads);
            var path = context.SerializedFilePath;
            var copy = new Copy(model, context.Device, context.DeviceReason, Math.Max(0, Environment.WorkingSet - residentBefore),
                path is not null && File.Exists(path) ? new FileInfo(path).Length : 0);
            lock (_gate)
            {
                _all.Add(copy);
                if (model.IsThreadSafe)
                {
                    _shared[requested] = copy;
                }
            }
            return model;
        }
    }

    /// <summary>Gives back a copy <see cref="Acquire"/> returned; the last user's release disposes it.</summary>
    /// <returns>True when the copy was disposed.</returns>
    public bool Release(IModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Copy? last = null;
        lock (_gate)
        {
            var copy = _all.Find(c => ReferenceEquals(c.Model, model));
            if (copy is null)
            {
                return false;
            }
            if (--copy.Users == 0)
            {
                _all.Remove(copy);
                foreach (var (device, shared) in _shared)
                {
                    if (shared == copy)
                    {
                        _shared.Remove(device);
                        break;
                    }
                }
                last = copy;
            }
        }
        if (last is null)
        {
            return false;
        }
        last.Model.Dispose();
        NativeHeap.Trim();
        return true;
    }
}
