using System;

namespace Serve
{
    /// <summary>
    /// Marks a partial class as a model handler. The Serve generator implements
    /// <c>Serve.Runtime.IHandler</c> on it, registers it under <see cref="Name"/> and maps
    /// <c>POST /predictions/{name}</c> for it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class HandlerAttribute : Attribute
    {
        /// <param name="name">The handler's name, as a model archive's manifest refers to it.</param>
        public HandlerAttribute(string name)
        {
            Name = name;
        }

        /// <summary>The handler's name, unique within an assembly.</summary>
        public string Name { get; }

        /// <summary>
        /// Optional: a <c>System.Text.Json.Serialization.JsonSerializerContext</c> type that holds
        /// the <c>JsonTypeInfo</c> for the postprocess result type. Without it the generator writes
        /// the JSON itself with <c>Utf8JsonWriter</c>.
        /// </summary>
        public Type? JsonContext { get; set; }
    }
}
